"""Join requests: request, approve, deny, withdraw."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.models.enums import OrganizationRole
from app.resolvers import join_requests as resolve
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field
from app.schema.join_requests.types import JoinRequestType
from app.schema.members.types import MemberType
from app.schema.permissions import IsUser, OrgInput


@strawberry.input(description="A request to join an organization.")
class RequestToJoinInput:
    organization_id: strawberry.ID = strawberry.field(
        description="The organization: an `OrganizationSuggestion` id (from "
        "`me.suggestedOrganizations`) or an Organization id."
    )
    message: str | None = strawberry.field(
        default=None, description="A note to the admins, up to 2000 characters."
    )


@strawberry.input(description="A pending join request to approve.")
class ApproveJoinRequestInput:
    join_request_id: strawberry.ID = strawberry.field(description="The join request.")
    role: OrganizationRole | None = strawberry.field(
        default=None,
        description="The role to grant; null: the domain's `autoJoinRole` (USER when the "
        "domain is gone). As for invitations: never OWNER (ROLE_NOT_ALLOWED), ADMIN only by "
        "the OWNER (FORBIDDEN_ROLE).",
    )


@strawberry.input(description="One join request.")
class JoinRequestIdInput:
    join_request_id: strawberry.ID = strawberry.field(description="The join request.")


@strawberry.type(description="The result of a change to one join request.")
class JoinRequestPayload:
    errors: list[UserError] = errors_field()
    join_request: JoinRequestType | None = object_field("The join request as it is now.")


@strawberry.type(description="The result of `approveJoinRequest`.")
class ApproveJoinRequestPayload:
    errors: list[UserError] = errors_field()
    member: MemberType | None = object_field("The new membership.")


def _decide() -> OrgInput:
    return OrgInput(Permission.MANAGE_MEMBERS, "JoinRequest", "join_request_id")


@strawberry.type
class Mutation:
    @mutation(
        "Ask to join an organization with a verified REQUEST domain matching your verified "
        "email; valid 30 days. Signed-in users only. Codes: NOT_FOUND, INVALID_INPUT, "
        "JOIN_NOT_ALLOWED (no such domain, an unverified email, or removed from or blocked "
        "in that organization), ALREADY_MEMBER, ALREADY_REQUESTED, RATE_LIMITED.",
        IsUser(),
    )
    async def request_to_join(
        self, info: Info, input: Annotated[RequestToJoinInput, INPUT]
    ) -> JoinRequestPayload:
        request = await resolve.request_to_join(
            info.context, str(input.organization_id), input.message
        )
        return JoinRequestPayload(join_request=JoinRequestType.from_model(request))

    @mutation(
        "Approve a pending join request: the requester joins and is mailed the decision. "
        "OWNER and ADMIN (FORBIDDEN otherwise). Codes: NOT_FOUND, REQUEST_NOT_PENDING "
        "(decided, withdrawn or expired), ROLE_NOT_ALLOWED, FORBIDDEN_ROLE, "
        "SEAT_LIMIT_REACHED, ALREADY_MEMBER, JOIN_NOT_ALLOWED (blocked meanwhile).",
        _decide(),
    )
    async def approve_join_request(
        self, info: Info, input: Annotated[ApproveJoinRequestInput, INPUT]
    ) -> ApproveJoinRequestPayload:
        member = await resolve.approve_join_request(info.context, input.role)
        return ApproveJoinRequestPayload(member=MemberType.from_model(member))

    @mutation(
        "Deny a pending join request; the requester is mailed the decision. OWNER and ADMIN "
        "(FORBIDDEN otherwise). Codes: NOT_FOUND, REQUEST_NOT_PENDING.",
        _decide(),
    )
    async def deny_join_request(
        self, info: Info, input: Annotated[JoinRequestIdInput, INPUT]
    ) -> JoinRequestPayload:
        request = await resolve.deny_join_request(info.context)
        return JoinRequestPayload(join_request=JoinRequestType.from_model(request))

    @mutation(
        "Withdraw your own pending join request. The requester only. Codes: NOT_FOUND, "
        "FORBIDDEN_ROLE (an admin's, not theirs), REQUEST_NOT_PENDING.",
        IsUser(),
    )
    async def withdraw_join_request(
        self, info: Info, input: Annotated[JoinRequestIdInput, INPUT]
    ) -> JoinRequestPayload:
        request = await resolve.withdraw_join_request(info.context, str(input.join_request_id))
        return JoinRequestPayload(join_request=JoinRequestType.from_model(request))
