"""Rendering for the link pages: template files, escaped values, strict headers.

Templates are `string.Template` files under templates/. Every value is
HTML-escaped unless it is `Html` (a fragment rendered by this module).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html import escape
from pathlib import Path
from string import Template

from aiohttp import web

from app.errors import DomainError, ErrorCode

TEMPLATES = Path(__file__).with_name("templates")
STYLESHEET = Path(__file__).with_name("static") / "roster.css"
STYLESHEET_PATH = "/pages/roster.css"

HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

# HTTP status of a page that shows a refused action, by error code.
_STATUS = {
    ErrorCode.INVALID_TOKEN: 404,
    ErrorCode.INVITATION_EXPIRED: 410,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.DOMAIN_TAKEN: 409,
    ErrorCode.EMAIL_TAKEN: 409,
    ErrorCode.ALREADY_MEMBER: 409,
    ErrorCode.TRANSFER_TARGET_INVALID: 409,
}


class Html(str):
    """Markup that is already safe: inserted into templates as is."""


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(template: str, /, **values: object) -> Html:
    safe = {k: v if isinstance(v, Html) else escape(str(v)) for k, v in values.items()}
    return Html(_template(template).substitute(safe))


def join(parts: Iterable[Html]) -> Html:
    return Html("\n".join(parts))


def page(title: str, body: Html, status: int = 200) -> web.Response:
    html = render("base.html", title=title, body=body, stylesheet=STYLESHEET_PATH)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def state(title: str, text: str, status: int = 200, kind: str = "info") -> web.Response:
    """A page that only says what happened (success, or why the link cannot be used)."""
    return page(title, render("state.html", kind=kind, heading=title, text=text), status)


def status_of(error: DomainError) -> int:
    return _STATUS.get(error.code, 422)


def when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def facts(items: Iterable[tuple[str, str]]) -> Html:
    """A description list of what the link is about (organization, role, expiry …)."""
    rows = join(render("fact.html", label=label, value=value) for label, value in items)
    return render("facts.html", rows=rows)


@dataclass
class Field:
    name: str
    label: str
    type: str = "text"
    autocomplete: str = "off"
    value: str = ""
    hint: str = ""
    extra: str = ""  # trusted attribute text written by this package (e.g. minlength)


def form(
    *,
    action: str,
    name: str,
    heading: str,
    button: str,
    token: str,
    fields: Iterable[Field] = (),
    intro: str = "",
    error: DomainError | None = None,
    button_kind: str = "primary",
) -> Html:
    """A form posting back to `action` with the token in a hidden field.

    An error is shown at the top of the form (role=alert); the field it names,
    if the form has it, is marked invalid and described by the message.
    """
    error_id = f"{name}-error"
    rendered = []
    for field in fields:
        field_id = f"{name}-{field.name}"
        described = []
        attributes = [field.extra] if field.extra else []
        if field.hint:
            described.append(f"{field_id}-hint")
        if error is not None and field.name in (error.field or []):
            described.append(error_id)
            attributes.append('aria-invalid="true"')
        if described:
            attributes.append(f'aria-describedby="{" ".join(described)}"')
        hint = render("hint.html", id=f"{field_id}-hint", text=field.hint) if field.hint else ""
        rendered.append(
            render(
                "field.html",
                id=field_id,
                name=field.name,
                label=field.label,
                type=field.type,
                autocomplete=field.autocomplete,
                value=field.value,
                hint=Html(hint),
                attributes=Html(" ".join(attributes)),
            )
        )
    return render(
        "form.html",
        action=action,
        name=name,
        heading=heading,
        intro=render("intro.html", text=intro) if intro else Html(""),
        error=render("error.html", id=error_id, text=error.message) if error else Html(""),
        token=token,
        fields=join(rendered),
        button=button,
        button_kind=button_kind,
    )


def text_of(form_data: Mapping[str, object], key: str, limit: int = 1024) -> str:
    """A posted text field ('' when missing or a file), cut to a sane length."""
    value = form_data.get(key, "")
    return value[:limit] if isinstance(value, str) else ""


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(
        body=STYLESHEET.read_bytes(),
        content_type="text/css",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"},
    )
