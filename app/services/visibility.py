"""Who may see what: the visibility rules every read path applies (API.md, "Roles").

Pure functions of the viewer's access; the resolvers gather the facts and ask here.
"""

from __future__ import annotations

from app.auth.roles import Permission, has_permission
from app.auth.viewer import OrgAccess
from app.models import Member, User
from app.models.enums import MemberStatus
from app.services.expiry import status_now


def reads_private(access: OrgAccess | None) -> bool:
    """Emails, invitations, seats, audit events, API keys, BLOCKED and REMOVED members."""
    return access is not None and has_permission(access.role, Permission.READ_PRIVATE)


def reads_organization(access: OrgAccess | None) -> bool:
    """What is inside an organization (members, projects, their assignments): its active
    members and API keys. An invitee is not a member yet: they see only what the
    invitation shows (API.md, "Invitees read the organization")."""
    return access is not None and has_permission(access.role, Permission.READ_ORGANIZATION)


def may_see_member(access: OrgAccess | None, status: MemberStatus | str) -> bool:
    """Active members see ACTIVE members; ADMIN+ see every member of their organization."""
    return access is not None and (status == MemberStatus.ACTIVE or reads_private(access))


def may_see_member_now(access: OrgAccess | None, member: Member) -> bool:
    """`may_see_member` with the member's status as it reads now (past `expires_at`:
    REMOVED, app.services.expiry): the rule of every read of one member."""
    return may_see_member(access, status_now(member))


def visible_statuses(
    access: OrgAccess | None, wanted: set[MemberStatus] | None
) -> set[MemberStatus]:
    """The member statuses a list may show: those asked for that the viewer may see."""
    statuses = set(MemberStatus) if wanted is None else set(wanted)
    return statuses if reads_private(access) else statuses & {MemberStatus.ACTIVE}


def may_read_member_email(access: OrgAccess | None, is_self: bool) -> bool:
    """A member's email: the member themself, or ADMIN+ of the organization."""
    return is_self or reads_private(access)


def may_read_user_email(is_self: bool, private_orgs: set[int], person_orgs: set[int]) -> bool:
    """A user's email: the person themself, or ADMIN+ of an organization they belong to
    or are invited to (`private_orgs`: where the viewer reads private data)."""
    return is_self or bool(private_orgs & person_orgs)


def sees_invitations_to(user: User | None, email: str) -> bool:
    """An invitee sees the invitations to their address once they have proved it (a
    verified email); holding an unverified account at that address proves nothing."""
    return user is not None and user.email_verified and user.email == email
