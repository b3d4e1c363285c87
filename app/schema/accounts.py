"""Accounts: the User type, `me`, and the sign-up / log-in / reset mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.models import User
from app.resolvers import accounts as resolve
from app.schema.errors import INPUT, UserError, errors_field, object_field, ok_field
from app.schema.node import Node, register_node
from app.schema.permissions import IsUser, guard

if TYPE_CHECKING:
    from app.schema.invitations import InvitationType
    from app.schema.members import MemberType


@strawberry.type(name="User", description="A person with an account.")
class UserType(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    name: str = strawberry.field(
        description="The name the person gave; readable by everyone who can reach the user."
    )
    email_verified: bool = strawberry.field(
        description="The person proved the address (verification link or invitation token)."
    )
    created_at: datetime = strawberry.field(description="When the account was created.")
    pk: Private[int]
    raw_email: Private[str]
    # Set when the path that led here already proves the viewer may read the email.
    email_known_visible: Private[bool] = False

    @classmethod
    def from_model(cls, user: User, email_visible: bool = False) -> UserType:
        from app.ids import to_global_id

        return cls(
            id=strawberry.ID(to_global_id("User", user.pk)),
            name=user.name,
            email_verified=user.email_verified,
            created_at=user.created_at,
            pk=user.pk,
            raw_email=user.email,
            email_known_visible=email_visible,
        )

    @classmethod
    def from_row(cls, row: dict, email_visible: bool = False) -> UserType:
        """From a `values()` row with id, name, email, email_verified_at, created_at."""
        from app.ids import to_global_id

        return cls(
            id=strawberry.ID(to_global_id("User", row["id"])),
            name=row["name"],
            email_verified=row["email_verified_at"] is not None,
            created_at=row["created_at"],
            pk=row["id"],
            raw_email=row["email"],
            email_known_visible=email_visible,
        )

    @strawberry.field(
        description="Personal data: the person themself and ADMIN+ of an organization "
        "they belong to or are invited to; null for anyone else."
    )
    def email(self, info: strawberry.Info) -> str | None:
        if self.email_known_visible:
            return self.raw_email
        return resolve.user_email(info, self)  # awaited by the executor

    @strawberry.field(description="The viewer's ACTIVE memberships; only on `me`, else empty.")
    async def memberships(
        self, info: strawberry.Info
    ) -> list[Annotated[MemberType, strawberry.lazy("app.schema.members")]]:
        return await resolve.memberships(info, self)

    @strawberry.field(
        description="Pending invitations to the viewer's address; only on `me`, and only "
        "once the email is verified."
    )
    async def pending_invitations(
        self, info: strawberry.Info
    ) -> list[Annotated[InvitationType, strawberry.lazy("app.schema.invitations")]]:
        return await resolve.pending_invitations(info, self)


register_node("User", resolve.user_node)


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
    member: Annotated[MemberType, strawberry.lazy("app.schema.members")] | None = object_field(
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
class Query:
    @strawberry.field(description="The signed-in user; null when anonymous or for API keys.")
    async def me(self, info: strawberry.Info) -> UserType | None:
        user = info.context.viewer.user
        return UserType.from_model(user, email_visible=True) if user else None


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create an account and sign in. Without `invitationToken`, mails a "
        "verification link. Anyone may call. Codes: INVALID_INPUT, INVALID_EMAIL, "
        "WEAK_PASSWORD, EMAIL_TAKEN, RATE_LIMITED, and with a token INVALID_TOKEN, "
        "INVITATION_EXPIRED, INVITATION_EMAIL_MISMATCH."
    )
    async def sign_up(
        self, info: strawberry.Info, input: Annotated[SignUpInput, INPUT]
    ) -> SignUpPayload:
        return await resolve.sign_up(info, input)

    @strawberry.mutation(
        description="Sign in with email and password; returns a session token. Codes: "
        "INVALID_CREDENTIALS, RATE_LIMITED (repeated failures for one email)."
    )
    async def log_in(
        self, info: strawberry.Info, input: Annotated[LogInInput, INPUT]
    ) -> LogInPayload:
        return await resolve.log_in(info, input)

    @strawberry.mutation(
        description="End the session whose token made this request. Signed-in users only "
        "(UNAUTHENTICATED; FORBIDDEN for API keys).",
        extensions=guard(IsUser()),
    )
    async def log_out(self, info: strawberry.Info) -> LogOutPayload:
        return await resolve.log_out(info)

    @strawberry.mutation(
        description="Mark the email verified with the mailed token; also joins organizations "
        "that verified the domain with auto-join. Anyone may call. Codes: INVALID_TOKEN."
    )
    async def verify_email(
        self, info: strawberry.Info, input: Annotated[VerifyEmailInput, INPUT]
    ) -> VerifyEmailPayload:
        return await resolve.verify_email(info, input)

    @strawberry.mutation(
        description="Mail a password-reset link if the address has an account; the answer is "
        "the same either way. Anyone may call. Codes: RATE_LIMITED."
    )
    async def request_password_reset(
        self, info: strawberry.Info, input: Annotated[RequestPasswordResetInput, INPUT]
    ) -> RequestPasswordResetPayload:
        return await resolve.request_password_reset(info, input)

    @strawberry.mutation(
        description="Set a new password with the mailed token; every session of the user ends. "
        "Anyone may call. Codes: INVALID_TOKEN, WEAK_PASSWORD."
    )
    async def reset_password(
        self, info: strawberry.Info, input: Annotated[ResetPasswordInput, INPUT]
    ) -> ResetPasswordPayload:
        return await resolve.reset_password(info, input)
