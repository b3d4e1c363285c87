"""/ownership/confirm: the owner logs in on the page to confirm a transfer."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from app.auth.tokens import hash_token
from app.auth.viewer import Viewer
from app.errors import DomainError, ErrorCode
from app.models import Member, Organization, OwnershipTransfer
from app.models.enums import TransferStatus
from app.pages import sessions
from app.pages.render import (
    Field,
    client_ip,
    facts,
    form,
    page,
    render,
    state,
    status_of,
    text_of,
    when,
)
from app.services import ownership
from app.services.audit import Actor
from app.services.validation import clean_token

PATH = "/ownership/confirm"


async def _pending(token: str) -> OwnershipTransfer | None:
    """The PENDING, unexpired transfer the token opens (read only), or None."""
    try:
        token_hash = hash_token(clean_token(token))
    except DomainError:
        return None
    return await OwnershipTransfer.get_or_none(
        token_hash=token_hash, status=TransferStatus.PENDING, expires_at__gt=datetime.now(UTC)
    )


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
    transfer = await _pending(token)
    if transfer is None:
        return _invalid()
    org = await Organization.get(id=transfer.organization_id)
    source = await Member.get(id=transfer.from_member_id)
    target = await Member.get(id=transfer.to_member_id)
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
                ("Link expires", when(transfer.expires_at)),
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
    transfer = await _pending(token)
    if transfer is None:
        return _invalid()
    target = await Member.get(id=transfer.to_member_id)
    try:
        user = await sessions.check_credentials(email, text_of(data, "password"))
        actor = Actor(viewer=Viewer(user=user), ip=client_ip(request))
        org = await ownership.confirm_transfer(actor, token)
    except DomainError as error:
        if error.code == ErrorCode.INVALID_TOKEN:
            return _invalid()
        return await _preview(token, error, email)
    return state(
        f"{target.name} now owns {org.name}",
        f"Ownership of {org.name} moved to {target.name}. You remain an ADMIN.",
        kind="ok",
    )
