"""The contract's enums and order inputs; domain enums come from the models."""

from enum import Enum

import strawberry

from app.models import enums

OrganizationRole = strawberry.enum(enums.OrganizationRole, name="OrganizationRole")
ProjectRole = strawberry.enum(enums.ProjectRole, name="ProjectRole")
MemberStatus = strawberry.enum(enums.MemberStatus, name="MemberStatus")
InvitationStatus = strawberry.enum(enums.InvitationStatus, name="InvitationStatus")
DeliveryStatus = strawberry.enum(enums.DeliveryStatus, name="DeliveryStatus")


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class MemberOrderField(Enum):
    NAME = "NAME"
    EMAIL = "EMAIL"
    JOINED_AT = "JOINED_AT"
    ROLE = "ROLE"


@strawberry.enum
class InvitationOrderField(Enum):
    EMAIL = "EMAIL"
    CREATED_AT = "CREATED_AT"
    EXPIRES_AT = "EXPIRES_AT"


@strawberry.input
class MemberOrder:
    field: MemberOrderField
    direction: SortDirection = SortDirection.ASC


@strawberry.input
class InvitationOrder:
    field: InvitationOrderField
    direction: SortDirection = SortDirection.DESC
