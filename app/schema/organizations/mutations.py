"""Organization mutations: create, change the settings, delete."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.auth.roles import Permission
from app.resolvers import organizations as resolve
from app.resolvers.organizations import SettingValue
from app.schema.context import Info
from app.schema.errors import INPUT, UserError, errors_field, mutation, object_field, ok_field
from app.schema.organizations.types import OrganizationType
from app.schema.permissions import IsUser, OrgInput


@strawberry.input(description="A new organization.")
class CreateOrganizationInput:
    name: str = strawberry.field(description="1 to 200 characters after trimming.")
    slug: str | None = strawberry.field(
        default=None,
        description="Unique URL-friendly name (SLUG_TAKEN); made from the name when absent.",
    )


@strawberry.input(description="Settings to change; omitted fields stay as they are.")
class UpdateOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters after trimming."
    )
    invitation_ttl_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="Default invitation lifetime, 1 to 30 days."
    )
    allowed_email_domains: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Only addresses at these domains may be invited; empty list or null for any.",
    )
    seat_limit: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="At least 1, or null for unlimited. May be set below `seatsUsed`: nobody "
        "is removed, new invitations are refused.",
    )


@strawberry.input(description="Which organization to delete, confirmed by its name.")
class DeleteOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    confirm_name: str = strawberry.field(
        description="The organization's exact name (CONFIRMATION_MISMATCH otherwise)."
    )


@strawberry.type(description="The result of a change to an organization.")
class OrganizationPayload:
    errors: list[UserError] = errors_field()
    organization: OrganizationType | None = object_field("The organization as it is now.")


@strawberry.type(description="The result of `deleteOrganization`.")
class DeleteOrganizationPayload:
    errors: list[UserError] = errors_field()
    ok: bool | None = ok_field()


@strawberry.type
class Mutation:
    @mutation(
        "Create an organization; the caller becomes its OWNER. Signed-in users only "
        "(UNAUTHENTICATED; FORBIDDEN for API keys). Codes: EMAIL_NOT_VERIFIED, INVALID_INPUT, "
        "SLUG_TAKEN.",
        IsUser(),
    )
    async def create_organization(
        self, info: Info, input: Annotated[CreateOrganizationInput, INPUT]
    ) -> OrganizationPayload:
        organization = await resolve.create_organization(info.context, input.name, input.slug)
        return OrganizationPayload(organization=OrganizationType.from_model(organization))

    @mutation(
        "Change the name or settings. OWNER and ADMIN (FORBIDDEN otherwise). Codes: "
        "NOT_FOUND, INVALID_INPUT.",
        OrgInput(Permission.MANAGE_ORGANIZATION, "Organization", "organization_id"),
    )
    async def update_organization(
        self, info: Info, input: Annotated[UpdateOrganizationInput, INPUT]
    ) -> OrganizationPayload:
        settings: dict[str, SettingValue] = {
            "name": input.name,
            "invitation_ttl_days": input.invitation_ttl_days,
            "allowed_email_domains": input.allowed_email_domains,
            "seat_limit": input.seat_limit,
        }
        changes = {key: value for key, value in settings.items() if value is not strawberry.UNSET}
        organization = await resolve.update_organization(info.context, changes)
        return OrganizationPayload(organization=OrganizationType.from_model(organization))

    @mutation(
        "Delete the organization and everything in it. OWNER only (FORBIDDEN otherwise). "
        "Codes: NOT_FOUND, CONFIRMATION_MISMATCH.",
        OrgInput(Permission.OWN_ORGANIZATION, "Organization", "organization_id"),
    )
    async def delete_organization(
        self, info: Info, input: Annotated[DeleteOrganizationInput, INPUT]
    ) -> DeleteOrganizationPayload:
        await resolve.delete_organization(info.context, input.confirm_name)
        return DeleteOrganizationPayload(ok=True)
