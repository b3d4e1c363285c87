"""Fast factories: rows written straight through the models, as the services write them.

No HTTP, no mail, and no argon2 per user: every user shares one password hash
(of `PASSWORD`), computed once per test session, so logging in still works.
Users come out with a verified email. Each factory writes what the public path
writes for the same outcome, minus its side roads (mails, invitation rows):

- `make_user` + `make_session`: signUp's user (verified) and a session like
  `accounts.create_session`'s: the `rs_` token is returned, only its hash stored.
- `make_organization`: createOrganization's organization, OWNER member and
  `organization.created` audit event.
- `make_member`: a member as accepting the owner's invitation leaves it (ACTIVE,
  joined now, invited by the owner), without the invitation, its mails or its events.
- `make_invitation`, `make_project`, `make_assignment`: rows in a given state, for the
  service tests (an invitation with no mail in the outbox, a project with no creator).

tests/services/test_factories.py keeps them in step with the services. Both the HTTP
tests (the app's connections) and the service tests (the `db` fixture) use them;
tests/support/api.py wraps them as `sign_up`, `create_org` and `add_member`.
"""

from __future__ import annotations

import itertools
import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Literal

from app.auth import passwords
from app.auth.tokens import SESSION_PREFIX, hash_token, new_token
from app.auth.viewer import OrgAccess, Viewer
from app.models import (
    AuditEvent,
    Invitation,
    Member,
    Organization,
    Project,
    ProjectAssignment,
    Session,
    Team,
    TeamMember,
    TeamProjectRole,
    User,
)
from app.models.enums import (
    InvitationStatus,
    ManagedBy,
    MemberStatus,
    OrganizationRole,
    ProjectRole,
)
from app.services.audit import Actor

PASSWORD = "correct horse battery staple"
# What the test client's requests come from: the HTTP path records this address.
CLIENT_IP = "127.0.0.1"

_counter = itertools.count(1)
_password_hash: list[str] = []


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def password_hash() -> str:
    """The argon2 hash of PASSWORD, computed on first use and kept for the session."""
    if not _password_hash:
        _password_hash.append(await passwords.hash_password(PASSWORD))
    return _password_hash[0]


def _pk(row: Organization | Member | int) -> int:
    return row if isinstance(row, int) else row.id


def _now() -> datetime:
    return datetime.now(UTC)


async def make_user(
    email: str | None = None, name: str = "Ada Lovelace", *, verified: bool = True
) -> User:
    """A user whose password is PASSWORD; the email verified unless `verified=False`."""
    return await User.create(
        email=(email or unique_email()).strip().lower(),
        name=name,
        password_hash=await password_hash(),
        email_verified_at=_now() if verified else None,
    )


async def make_session(user: User) -> str:
    """A session token for `user`: prefixed like every session, only its hash stored."""
    token = new_token(SESSION_PREFIX)
    await Session.create(user=user, token_hash=hash_token(token), last_used_at=_now())
    return token


def slugify(name: str) -> str:
    """The slug createOrganization derives from a name (kept here rather than imported:
    the services' helper for it is not part of their public surface)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:48].strip("-") or "org"


async def _free_slug(base: str) -> str:
    slug = base
    while await Organization.exists(slug=slug):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


async def make_organization(
    owner: User, name: str = "Acme", *, slug: str | None = None, ip: str | None = CLIENT_IP
) -> tuple[Organization, Member]:
    """The organization, its OWNER member and the `organization.created` event."""
    slug = slug or await _free_slug(slugify(name))
    organization = await Organization.create(name=name, slug=slug)
    member = Member(organization=organization, user=owner, name=owner.name, email=owner.email)
    member.set_role(OrganizationRole.OWNER)
    await member.save()
    await AuditEvent.create(
        organization_id=organization.id,
        action="organization.created",
        actor_user_id=owner.id,
        target_type="Organization",
        target_id=organization.id,
        data={"name": name, "slug": slug},
        ip=ip,
    )
    return organization, member


async def owner_of(organization: Organization | int) -> Member:
    return await Member.get(organization_id=_pk(organization), role=OrganizationRole.OWNER)


async def make_member(
    organization: Organization | int,
    user: User | None = None,
    role: OrganizationRole | str = OrganizationRole.USER,
    *,
    name: str = "Mia Member",
    status: MemberStatus = MemberStatus.ACTIVE,
    invited_by: Member | Literal["owner"] | None = "owner",
    username: str | None = None,
    managed_by: ManagedBy = ManagedBy.ROSTER,
) -> Member:
    """A member with `role` (a new verified user unless `user` is given).

    Like a member who accepted the owner's invitation: `invited_by` is the owner
    unless given (None for nobody). `managed_by=ManagedBy.SCIM` marks them as a SCIM
    connection's (without the connection: what the GraphQL rules look at).
    """
    organization_id = _pk(organization)
    user = user or await make_user(name=name)
    if invited_by == "owner":
        invited_by = await owner_of(organization_id)
    member = Member(
        organization_id=organization_id,
        user_id=user.id,
        name=user.name,
        email=user.email,
        username=username,
        status=status,
        joined_at=_now(),
        invited_by_id=invited_by.id if invited_by is not None else None,
        managed_by=managed_by,
    )
    if status == MemberStatus.BLOCKED:
        member.blocked_at = _now()
    elif status == MemberStatus.REMOVED:
        member.removed_at = _now()
    member.set_role(OrganizationRole(role))
    await member.save()
    return member


async def make_invitation(
    organization: Organization | int,
    email: str | None = None,
    *,
    role: OrganizationRole | str = OrganizationRole.USER,
    status: InvitationStatus = InvitationStatus.PENDING,
    expires_in: timedelta = timedelta(days=7),
    token: str | None = None,
    invited_by: Member | Literal["owner"] | None = "owner",
    username: str | None = None,
) -> Invitation:
    """An invitation row as the lifecycle leaves it in `status` (sent once; `token` is the
    link's token, a fresh one unless given; dead links keep no token). A negative
    `expires_in` gives a stored PENDING row past its expiry, which reads as EXPIRED."""
    organization_id = _pk(organization)
    if invited_by == "owner":
        invited_by = await owner_of(organization_id)
    now = _now()
    live = status in (InvitationStatus.PENDING, InvitationStatus.EXPIRED)
    return await Invitation.create(
        organization_id=organization_id,
        email=(email or unique_email("invitee")).lower(),
        username=username,
        role=OrganizationRole(role),
        status=status,
        token_hash=hash_token(token or new_token()) if live else None,
        expires_at=now + expires_in,
        accepted_at=now if status == InvitationStatus.ACCEPTED else None,
        ended_at=now if status in (InvitationStatus.REVOKED, InvitationStatus.DECLINED) else None,
        invited_by_id=invited_by.id if invited_by is not None else None,
        send_count=1,
    )


async def make_project(
    organization: Organization | int, name: str = "Web", *, is_default: bool = False
) -> Project:
    """A project with no assignments (createProject also makes its creator the OWNER)."""
    return await Project.create(
        organization_id=_pk(organization),
        name=name,
        slug=f"{slugify(name)}-{next(_counter)}",
        is_default=is_default,
    )


async def make_assignment(
    project: Project,
    member: Member,
    role: ProjectRole | str = ProjectRole.USE,
    *,
    expires_at: datetime | None = None,
) -> ProjectAssignment:
    return await ProjectAssignment.create(
        project_id=project.id, member_id=member.id, role=ProjectRole(role), expires_at=expires_at
    )


async def make_team(
    organization: Organization | int,
    name: str = "Core",
    *,
    members: tuple[Member, ...] | list[Member] = (),
    roles: dict[Project, ProjectRole] | None = None,
    managed_by: ManagedBy = ManagedBy.ROSTER,
) -> Team:
    """A team with these members and project roles, as createTeam, addTeamMembers and
    setTeamProjectRoles leave it (without their events); `managed_by=ManagedBy.SCIM` as
    a SCIM group."""
    team = await Team.create(
        organization_id=_pk(organization),
        name=name,
        slug=f"{slugify(name)}-{next(_counter)}",
        managed_by=managed_by,
    )
    for member in members:
        await TeamMember.create(team_id=team.id, member_id=member.id)
    for project, role in (roles or {}).items():
        await TeamProjectRole.create(team_id=team.id, project_id=project.id, role=role)
    return team


async def actor_for(member: Member, ip: str | None = None) -> Actor:
    """The Actor a request by this member's session would build."""
    user = await User.get(id=member.user_id)
    access = OrgAccess(member.organization_id, OrganizationRole(member.role), member.id)
    return Actor(viewer=Viewer(user=user), access=access, ip=ip)
