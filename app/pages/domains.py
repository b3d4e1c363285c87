"""/domains/verify: a button proves control of the domain (not the GET: scanners fetch links)."""

from __future__ import annotations

from aiohttp import web

from app.errors import DomainError, ErrorCode
from app.http import client_ip
from app.pages.render import facts, form, page, render, state, status_of, text_of
from app.services import domains

PATH = "/domains/verify"


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
    link = await domains.link_by_token(token)
    if link is None:
        return _invalid()
    row, org = link.domain, link.organization
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
    token = text_of(data, "token")
    link = await domains.link_by_token(token)
    if link is None:
        return _invalid()
    try:
        row = await domains.verify_domain(token, ip=client_ip(request))
    except DomainError as error:
        if error.code == ErrorCode.INVALID_TOKEN:
            return _invalid()
        return state("The domain was not verified", error.message, status_of(error), "warning")
    org = link.organization
    return state(
        f"{row.domain} is verified",
        f"{org.name} has verified {row.domain}. You can close this page.",
        kind="ok",
    )
