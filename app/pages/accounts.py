"""/password/reset and /email/verify."""

from __future__ import annotations

from aiohttp import web

from app.errors import DomainError, ErrorCode
from app.http import client_ip
from app.models.enums import EmailTokenPurpose
from app.pages.render import Field, form, page, render, state, status_of, text_of
from app.services import accounts, onboarding

RESET_PATH = "/password/reset"
VERIFY_PATH = "/email/verify"
PASSWORD_HINT = "10 to 256 characters; not a common password and not your email address."


def _invalid(what: str, again: str) -> web.Response:
    return state(
        "This link is not valid",
        f"This {what} link is unknown, was already used, or has expired. {again}",
        status=404,
        kind="warning",
    )


def _reset_invalid() -> web.Response:
    return _invalid("password reset", "Ask for a new one from the log-in screen.")


def _verify_invalid() -> web.Response:
    return _invalid(
        "verification", "If your address is not verified yet, ask for a new link from the app."
    )


def _reset_form(token: str, email: str, error: DomainError | None = None) -> web.Response:
    body = render(
        "page.html",
        heading="Choose a new password",
        lead=render("lead.html", text=f"For the Roster account {email}."),
        facts="",
        forms=form(
            action=RESET_PATH,
            name="reset",
            heading="Set a new password",
            intro="Every device signed in to this account will be signed out.",
            button="Set the new password",
            token=token,
            error=error,
            fields=[
                Field(
                    "password",
                    "New password",
                    type="password",
                    autocomplete="new-password",
                    hint=PASSWORD_HINT,
                    extra='minlength="10" maxlength="256"',
                ),
                Field(
                    "confirm",
                    "Repeat the new password",
                    type="password",
                    autocomplete="new-password",
                ),
            ],
        ),
    )
    return page("Choose a new password", body, status=status_of(error) if error else 200)


async def reset_show(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    row = await accounts.usable_token(token, EmailTokenPurpose.RESET_PASSWORD)
    if row is None:
        return _reset_invalid()
    return _reset_form(token, row.user.email)


async def reset_submit(request: web.Request) -> web.Response:
    data = await request.post()
    token = text_of(data, "token")
    row = await accounts.usable_token(token, EmailTokenPurpose.RESET_PASSWORD)
    if row is None:
        return _reset_invalid()
    password = text_of(data, "password")
    if password != text_of(data, "confirm"):
        mismatch = DomainError(
            ErrorCode.INVALID_INPUT, "The two passwords are not the same.", "confirm"
        )
        return _reset_form(token, row.user.email, mismatch)
    try:
        user = await accounts.reset_password(token, password)
    except DomainError as error:
        if error.code == ErrorCode.INVALID_TOKEN:
            return _reset_invalid()
        return _reset_form(token, row.user.email, error)
    return state(
        "Your password was changed",
        f"Log in as {user.email} with your new password. "
        "Every earlier session of this account has ended.",
        kind="ok",
    )


async def verify_show(request: web.Request) -> web.Response:
    """Only a button: mail scanners fetch links, so verifying waits for the POST."""
    token = request.query.get("token", "")
    row = await accounts.usable_token(token, EmailTokenPurpose.VERIFY_EMAIL)
    if row is None:
        return _verify_invalid()
    body = render(
        "page.html",
        heading="Verify your email address",
        lead=render("lead.html", text=f"Confirm that {row.user.email} is your address."),
        facts="",
        forms=form(
            action=VERIFY_PATH,
            name="verify",
            heading="Confirm",
            button="Verify my email address",
            token=token,
        ),
    )
    return page("Verify your email address", body)


async def verify_submit(request: web.Request) -> web.Response:
    data = await request.post()
    try:
        user = await onboarding.verify_email(text_of(data, "token"), client_ip(request))
    except DomainError as error:
        if error.code == ErrorCode.INVALID_TOKEN:
            return _verify_invalid()
        return state("Your email address was not verified", error.message, status_of(error))
    return state(
        "Your email address is verified",
        f"Thank you: {user.email} is verified. You can close this page.",
        kind="ok",
    )
