"""Enumerations shared by the models, the services and the GraphQL schema."""

from enum import StrEnum


class OrganizationRole(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    USER = "USER"
    VIEWER = "VIEWER"

    @property
    def rank(self) -> int:
        """0 for OWNER, the highest; used for ordering members by role."""
        return ROLE_ORDER.index(self)


ROLE_ORDER = (
    OrganizationRole.OWNER,
    OrganizationRole.ADMIN,
    OrganizationRole.USER,
    OrganizationRole.VIEWER,
)


class ProjectRole(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    USE = "USE"
    VIEWER = "VIEWER"

    @property
    def rank(self) -> int:
        return PROJECT_ROLE_ORDER.index(self)


PROJECT_ROLE_ORDER = (ProjectRole.OWNER, ProjectRole.ADMIN, ProjectRole.USE, ProjectRole.VIEWER)


class MemberStatus(StrEnum):
    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"
    REMOVED = "REMOVED"


class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class DeliveryStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


class TransferStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    REPLACED = "REPLACED"


class EmailTokenPurpose(StrEnum):
    VERIFY_EMAIL = "VERIFY_EMAIL"
    RESET_PASSWORD = "RESET_PASSWORD"


class ManagedBy(StrEnum):
    """Who manages a member's or a team's role and team membership."""

    ROSTER = "ROSTER"
    SCIM = "SCIM"


class DomainJoinPolicy(StrEnum):
    """How people whose verified email is at a verified domain may join its organization."""

    OFF = "OFF"
    REQUEST = "REQUEST"
    AUTO_JOIN = "AUTO_JOIN"


class JoinRequestStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"
