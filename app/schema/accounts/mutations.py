"""Account mutations: sign up, log in and out, verify the email, reset the password."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.resolvers import accounts as resolve
from app.schema.accounts.types import UserType
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.members.types import MemberType
from app.schema.permissions import IsUser


@strawberry.input(description="A new account.")
class SignUpInput:
    email: str = strawberry.field(
        description="The login; must be unused (EMAIL_TAKEN) and valid (INVALID_EMAIL). With "
        "`invitationToken` it must equal the invitation's email (INVITATION_EMAIL_MISMATCH)."
    )
    password: str = strawberry.field(
        description="10 to 256 characters, not a common password, not the email (WEAK_PASSWORD)."
    )
    name: str = strawberry.field(description="1 to 200 characters after trimming.")
    invitation_token: str | None = strawberry.field(
        default=None,
        description="A PENDING invitation's token: the account is created verified and joins "
        "the organization at once, without a verification mail.",
    )


@strawberry.input(description="Credentials.")
class LogInInput:
    email: str = strawberry.field(description="The account's email.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="An emailed verification token.")
class VerifyEmailInput:
    token: str = strawberry.field(description="The `token` of the link mailed at sign-up.")


@strawberry.input(description="Who asks for a reset link.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="An account's email; unknown addresses get no mail.")


@strawberry.input(description="A new password, with the mailed proof.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The `token` of the mailed reset link.")
    password: str = strawberry.field(
        description="10 to 256 characters, not a common password, not the email (WEAK_PASSWORD)."
    )


@strawberry.type(description="The result of `signUp`.")
class SignUpPayload:
    errors: list[UserError] = errors_field()
    user: UserType | None = object_field("The new user.")
    token: str | None = object_field("A session token for `Authorization: Bearer`.")
    member: MemberType | None = object_field(
        "The membership created from `invitationToken`; null without one."
    )


@strawberry.type(description="The result of `logIn`.")
class LogInPayload:
    errors: list[UserError] = errors_field()
    user: UserType | None = object_field("The signed-in user.")
    token: str | None = object_field(
        "A session token for `Authorization: Bearer`; it ends after 30 days unused."
    )


@strawberry.type(description="The result of `logOut`.")
class LogOutPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `verifyEmail`.")
class VerifyEmailPayload:
    errors: list[UserError] = errors_field()
    user: UserType | None = object_field("The user, now verified.")


@strawberry.type(description="The result of `requestPasswordReset`.")
class RequestPasswordResetPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type(description="The result of `resetPassword`.")
class ResetPasswordPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type
class Mutation:
    @mutation(
        "Create an account and sign in. Without `invitationToken`, mails a verification link. "
        "Anyone may call. Codes: INVALID_INPUT, INVALID_EMAIL, WEAK_PASSWORD, EMAIL_TAKEN, "
        "RATE_LIMITED, and with a token INVALID_TOKEN, INVITATION_EXPIRED, "
        "INVITATION_EMAIL_MISMATCH."
    )
    async def sign_up(self, info: Info, input: Annotated[SignUpInput, INPUT]) -> SignUpPayload:
        signed_in = await resolve.sign_up(
            info.context, input.email, input.password, input.name, input.invitation_token
        )
        return SignUpPayload(
            user=UserType.from_model(signed_in.user, email_visible=True),
            token=signed_in.token,
            member=None if signed_in.member is None else MemberType.from_model(signed_in.member),
        )

    @mutation(
        "Sign in with email and password; returns a session token. Codes: "
        "INVALID_CREDENTIALS, RATE_LIMITED (repeated failures for one email)."
    )
    async def log_in(self, info: Info, input: Annotated[LogInInput, INPUT]) -> LogInPayload:
        signed_in = await resolve.log_in(info.context, input.email, input.password)
        return LogInPayload(
            user=UserType.from_model(signed_in.user, email_visible=True), token=signed_in.token
        )

    @mutation(
        "End the session whose token made this request. Signed-in users only "
        "(UNAUTHENTICATED; FORBIDDEN for API keys).",
        IsUser(),
    )
    async def log_out(self, info: Info) -> LogOutPayload:
        await resolve.log_out(info.context)
        return LogOutPayload(ok=True)

    @mutation(
        "Mark the email verified with the mailed token; also joins organizations that "
        "verified the domain with auto-join. Anyone may call. Codes: INVALID_TOKEN."
    )
    async def verify_email(
        self, info: Info, input: Annotated[VerifyEmailInput, INPUT]
    ) -> VerifyEmailPayload:
        user = await resolve.verify_email(info.context, input.token)
        return VerifyEmailPayload(user=UserType.from_model(user, email_visible=True))

    @mutation(
        "Mail a password-reset link if the address has an account; the answer is the same "
        "either way. Anyone may call. Codes: RATE_LIMITED."
    )
    async def request_password_reset(
        self, info: Info, input: Annotated[RequestPasswordResetInput, INPUT]
    ) -> RequestPasswordResetPayload:
        await resolve.request_password_reset(info.context, input.email)
        return RequestPasswordResetPayload(ok=True)

    @mutation(
        "Set a new password with the mailed token; every session of the user ends. Anyone "
        "may call. Codes: INVALID_TOKEN, WEAK_PASSWORD."
    )
    async def reset_password(
        self, info: Info, input: Annotated[ResetPasswordInput, INPUT]
    ) -> ResetPasswordPayload:
        await resolve.reset_password(info.context, input.token, input.password)
        return ResetPasswordPayload(ok=True)
