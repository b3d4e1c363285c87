"""/ownership/confirm: the owner logs in on the page to confirm a transfer."""

from __future__ import annotations

from aiohttp import web

from app.errors import DomainError, ErrorCode
from app.http import client_ip
from app.pages.render import Field, facts, form, page, render, state, status_of, text_of, when
from app.services import accounts, ownership
from app.services.audit import Actor

PATH = "/ownership/confirm"


def _invalid() -> web.Response:
    return state(
        "This link is not valid",
        "This ownership transfer link is unknown, was already used, was cancelled or replaced "
        "by a newer transfer, or has expired (transfers last 72 hours). The owner can start "
        "the transfer again.",
        status=404,
        kind="warning",
    )


async def _preview(token: str, error: DomainError | None = None, email: str = "") -> web.Response:
    link = await ownership.link_by_token(token)
    if link is None:
        return _invalid()
    org, source, target = link.organization, link.owner, link.target
    body = render(
        "page.html",
        heading=f"Transfer ownership of {org.name}",
        lead=render(
            "lead.html",
            text=f"{target.name} becomes the owner of {org.name}; you stay as an ADMIN.",
        ),
        facts=facts(
            [
                ("Organization", org.name),
                ("Current owner", source.name),
                ("New owner", target.name),
                ("Link expires", when(link.transfer.expires_at)),
            ]
        ),
        forms=form(
            action=PATH,
            name="confirm",
            heading="Log in as the owner to confirm",
            button="Log in and transfer ownership",
            token=token,
            error=error,
            fields=[
                Field("email", "Email", type="email", autocomplete="username", value=email),
                Field("password", "Password", type="password", autocomplete="current-password"),
            ],
        ),
    )
    return page(f"Transfer ownership of {org.name}", body, status_of(error) if error else 200)


async def show(request: web.Request) -> web.Response:
    return await _preview(request.query.get("token", ""))


async def submit(request: web.Request) -> web.Response:
    data = await request.post()
    token = text_of(data, "token")
    email = text_of(data, "email")
    link = await ownership.link_by_token(token)
    if link is None:
        return _invalid()
    target = link.target
    try:
        user = await accounts.check_credentials(
            email, text_of(data, "password"), client_ip(request)
        )
        org = await ownership.confirm_transfer(Actor.for_user(user, client_ip(request)), token)
    except DomainError as error:
        if error.code == ErrorCode.INVALID_TOKEN:
            return _invalid()
        return await _preview(token, error, email)
    return state(
        f"{target.name} now owns {org.name}",
        f"Ownership of {org.name} moved to {target.name}. You remain an ADMIN.",
        kind="ok",
    )
