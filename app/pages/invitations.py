"""/invitations/accept: preview, sign up with the token, log in and accept, or decline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from app.errors import DomainError, ErrorCode
from app.http import client_ip
from app.models.enums import InvitationStatus
from app.pages.render import (
    Field,
    facts,
    form,
    join,
    page,
    render,
    state,
    status_of,
    text_of,
    when,
)
from app.services import accounts, invitations, onboarding
from app.services.invitations import InvitationLink

if TYPE_CHECKING:
    from app.models import Member, Organization

PATH = "/invitations/accept"
PASSWORD_HINT = "10 to 256 characters; not a common password."

UNKNOWN = (
    "This invitation link is not valid",
    "It may have been used already, declined, withdrawn by the organization, or replaced by a "
    "newer invitation. Ask the organization to send you a new one.",
)
_ENDED = {
    InvitationStatus.ACCEPTED: "This invitation was already accepted.",
    InvitationStatus.DECLINED: "This invitation was declined.",
    InvitationStatus.REVOKED: "This invitation was withdrawn by the organization.",
}


async def _open(token: str) -> InvitationLink | web.Response:
    """What the token opens, when it can still be used; else the page saying why not."""
    link = await invitations.link_by_token(token)
    if link is None:
        return state(*UNKNOWN, status=404, kind="warning")
    invitation = link.invitation
    status = invitations.effective_status(invitation)
    if status == InvitationStatus.EXPIRED:
        return state(
            "This invitation has expired",
            f"The invitation to {link.organization.name} expired on "
            f"{when(invitation.expires_at)}. "
            "Ask the organization to send you a new one.",
            status=410,
            kind="warning",
        )
    if status in _ENDED:
        return state("This invitation cannot be used", _ENDED[status], status=410, kind="warning")
    return link


async def _preview(
    token: str,
    *,
    error: DomainError | None = None,
    failed_form: str = "",
    values: dict[str, str] | None = None,
) -> web.Response:
    link = await _open(token)
    if isinstance(link, web.Response):
        return link
    invitation, org, inviter = link.invitation, link.organization, link.inviter
    values = values or {}

    def error_for(name: str) -> DomainError | None:
        return error if failed_form == name else None

    details = [
        ("Organization", org.name),
        ("Invited by", inviter.name if inviter else "—"),
        ("Email", invitation.email),
        ("Role", str(invitation.role)),
        ("Expires", when(invitation.expires_at)),
    ]
    if invitation.membership_expires_at is not None:
        details.append(("Membership ends", when(invitation.membership_expires_at)))
    if invitation.message:
        details.append(("Message", invitation.message))
    forms = [
        form(
            action=PATH,
            name="signup",
            heading="New to Roster? Create your account and join",
            intro=f"Your account will use {invitation.email}.",
            button=f"Sign up and join {org.name}",
            token=token,
            error=error_for("signup"),
            fields=[
                Field("name", "Your name", autocomplete="name", value=values.get("name", "")),
                Field(
                    "password",
                    "Choose a password",
                    type="password",
                    autocomplete="new-password",
                    hint=PASSWORD_HINT,
                    extra='minlength="10" maxlength="256"',
                ),
            ],
        ),
        form(
            action=PATH,
            name="login",
            heading="Already have an account? Log in and accept",
            button="Log in and accept",
            button_kind="secondary",
            token=token,
            error=error_for("login"),
            fields=[
                Field(
                    "email",
                    "Email",
                    type="email",
                    autocomplete="username",
                    value=values.get("email", invitation.email),
                ),
                Field("password", "Password", type="password", autocomplete="current-password"),
            ],
        ),
        form(
            action=PATH,
            name="decline",
            heading="Not for you?",
            intro="Declining tells the organization and makes this link stop working.",
            button="Decline the invitation",
            button_kind="danger",
            token=token,
            error=error_for("decline"),
        ),
    ]
    body = render(
        "page.html",
        heading=f"Join {org.name} on Roster",
        lead=render(
            "lead.html",
            text=f"{inviter.name if inviter else 'Someone'} invited {invitation.email} "
            f"to {org.name} as {invitation.role}.",
        ),
        facts=facts(details),
        forms=join(forms),
    )
    return page(f"Join {org.name}", body, status=status_of(error) if error else 200)


def _joined(org: Organization, member: Member) -> web.Response:
    return state(
        f"You joined {org.name}",
        f"Welcome! You are a member of {org.name} as {member.role}. "
        "You can now log in to Roster with your email and password.",
        kind="ok",
    )


async def show(request: web.Request) -> web.Response:
    return await _preview(request.query.get("token", ""))


async def submit(request: web.Request) -> web.Response:
    data = await request.post()
    token = text_of(data, "token")
    action = text_of(data, "action")
    ip = client_ip(request)
    link = await _open(token)
    if isinstance(link, web.Response):
        return link
    org = link.organization
    values: dict[str, str] = {}
    try:
        if action == "signup":
            values = {"name": text_of(data, "name")}
            member = await onboarding.sign_up_to_join(
                email=link.invitation.email,
                password=text_of(data, "password"),
                name=values["name"],
                invitation_token=token,
                ip=ip,
            )
            return _joined(org, member)
        if action == "login":
            values = {"email": text_of(data, "email")}
            user = await accounts.check_credentials(
                values["email"], text_of(data, "password"), client_ip(request)
            )
            member = await onboarding.accept_by_token(token, user, ip)
            return _joined(org, member)
        if action == "decline":
            await invitations.decline(token, ip)
            return state(
                "Invitation declined",
                f"You declined the invitation to {org.name}. The link no longer works.",
                kind="ok",
            )
    except DomainError as error:
        if error.code == ErrorCode.EMAIL_TAKEN:
            error = DomainError(
                error.code,
                "This email already has a Roster account: log in below to accept instead.",
                error.field,
            )
        return await _preview(token, error=error, failed_form=action, values=values)
    return await _preview(
        token,
        error=DomainError(ErrorCode.INVALID_INPUT, "Choose one of the actions below."),
        failed_form="signup",
    )
