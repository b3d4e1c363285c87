"""/join-requests/decision: the landing page of a join request's decision mail.

It only shows the decision (nothing changes on this page, so a GET is enough): the
organization, the outcome, the role for an approval, and a link to Roster.
"""

from __future__ import annotations

from aiohttp import web

from app import config
from app.models.enums import JoinRequestStatus
from app.pages.render import facts, page, render, state, when
from app.services import join_requests
from app.services.join_requests import DECISION_PATH

PATH = DECISION_PATH


def _invalid() -> web.Response:
    return state(
        "This link is not valid",
        "This join request link is unknown. Open Roster to see your join requests.",
        status=404,
        kind="warning",
    )


async def show(request: web.Request) -> web.Response:
    link = await join_requests.decision_by_token(request.query.get("token", ""))
    if link is None:
        return _invalid()
    row, org = link.request, link.organization
    approved = row.status == JoinRequestStatus.APPROVED
    if approved:
        heading = f"You joined {org.name}"
        text = (
            f"Your request to join {org.name} was approved: you are a member as {row.role}. "
            "Log in to Roster with your email and password to get started."
        )
    else:
        heading = f"Your request to join {org.name}"
        text = (
            f"Your request to join {org.name} was declined by its administrators. You can "
            f"ask an administrator of {org.name} for an invitation instead."
        )
    details = [
        ("Organization", org.name),
        ("Decision", "approved" if approved else "declined"),
        ("Requested", when(row.created_at)),
    ]
    if row.decided_at is not None:
        details.append(("Decided", when(row.decided_at)))
    if approved and row.role is not None:
        details.append(("Role", str(row.role)))
    body = render(
        "page.html",
        heading=heading,
        lead=render("lead.html", text=text),
        facts=facts(details),
        forms=render("link.html", href=config.current().public_url + "/", text="Open Roster"),
    )
    return page(heading, body)
