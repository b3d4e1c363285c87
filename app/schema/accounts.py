"""Accounts: the User type, `me`, and the sign-up / log-in / reset mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.models import User
from app.resolvers import accounts as resolve
from app.schema.errors import UserError
from app.schema.node import Node, register_node
from app.schema.permissions import IsUser, guard

if TYPE_CHECKING:
    from app.schema.invitations import InvitationType
    from app.schema.members import MemberType


@strawberry.type(name="User", description="A person with an account.")
class UserType(Node):
    id: strawberry.ID
    name: str
    email_verified: bool
    created_at: datetime
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


@strawberry.input
class SignUpInput:
    email: str
    password: str
    name: str
    invitation_token: str | None = None


@strawberry.input
class LogInInput:
    email: str
    password: str


@strawberry.input
class VerifyEmailInput:
    token: str


@strawberry.input
class RequestPasswordResetInput:
    email: str


@strawberry.input
class ResetPasswordInput:
    token: str
    password: str


@strawberry.type
class SignUpPayload:
    errors: list[UserError]
    user: UserType | None = None
    token: str | None = None
    member: Annotated[MemberType, strawberry.lazy("app.schema.members")] | None = None


@strawberry.type
class LogInPayload:
    errors: list[UserError]
    user: UserType | None = None
    token: str | None = None


@strawberry.type
class LogOutPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class VerifyEmailPayload:
    errors: list[UserError]
    user: UserType | None = None


@strawberry.type
class RequestPasswordResetPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class ResetPasswordPayload:
    errors: list[UserError]
    ok: bool | None = None


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when anonymous or for API keys.")
    async def me(self, info: strawberry.Info) -> UserType | None:
        user = info.context.viewer.user
        return UserType.from_model(user, email_visible=True) if user else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def sign_up(self, info: strawberry.Info, input: SignUpInput) -> SignUpPayload:
        return await resolve.sign_up(info, input)

    @strawberry.mutation
    async def log_in(self, info: strawberry.Info, input: LogInInput) -> LogInPayload:
        return await resolve.log_in(info, input)

    @strawberry.mutation(extensions=guard(IsUser()))
    async def log_out(self, info: strawberry.Info) -> LogOutPayload:
        return await resolve.log_out(info)

    @strawberry.mutation
    async def verify_email(
        self, info: strawberry.Info, input: VerifyEmailInput
    ) -> VerifyEmailPayload:
        return await resolve.verify_email(info, input)

    @strawberry.mutation
    async def request_password_reset(
        self, info: strawberry.Info, input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        return await resolve.request_password_reset(info, input)

    @strawberry.mutation
    async def reset_password(
        self, info: strawberry.Info, input: ResetPasswordInput
    ) -> ResetPasswordPayload:
        return await resolve.reset_password(info, input)
