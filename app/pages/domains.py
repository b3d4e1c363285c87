"""/domains/verify: a button proves control of the domain (not the GET: scanners fetch links)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from app.auth.tokens import hash_token
from app.auth.viewer import Viewer
from app.errors import DomainError, ErrorCode
from app.models import Domain, Organization
from app.pages.render import client_ip, facts, form, page, render, state, status_of, text_of
from app.services import domains
from app.services.validation import clean_token

PATH = "/domains/verify"


async def _pending(token: str) -> Domain | None:
    try:
        token_hash = hash_token(clean_token(token))
    except DomainError:
        return None
    return await Domain.get_or_none(token_hash=token_hash, token_expires_at__gt=datetime.now(UTC))


def _invalid() -> web.Response:
    return state(
        "This link is not valid",
        "This domain verification link is unknown, was already used, or has expired. "
        "An organization admin can add the domain again to get a new link.",
        status=404,
        kind="warning",
    )


async def show(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    row = await _pending(token)
    if row is None:
        return _invalid()
    org = await Organization.get(id=row.organization_id)
    body = render(
        "page.html",
        heading=f"Verify {row.domain}",
        lead=render(
            "lead.html",
            text=f"{org.name} asks to verify that it controls {row.domain}.",
        ),
        facts=facts(
            [
                ("Domain", row.domain),
                ("Organization", org.name),
                ("Sent to", row.verification_email),
                ("Automatic joining", f"as {row.auto_join_role}" if row.auto_join else "off"),
            ]
        ),
        forms=form(
            action=PATH,
            name="verify",
            heading="Confirm",
            intro="Only confirm if you work with this organization.",
            button=f"Verify {row.domain}",
            token=token,
        ),
    )
    return page(f"Verify {row.domain}", body)


async def submit(request: web.Request) -> web.Response:
    data = await request.post()
    try:
        row = await domains.verify_domain(text_of(data, "token"), Viewer(), client_ip(request))
    except DomainError as error:
        if error.code == ErrorCode.INVALID_TOKEN:
            return _invalid()
        return state("The domain was not verified", error.message, status_of(error), "warning")
    org = await Organization.get(id=row.organization_id)
    return state(
        f"{row.domain} is verified",
        f"{org.name} has verified {row.domain}. You can close this page.",
        kind="ok",
    )
