"""SCIM Users: an organization's members as an identity provider provisions them.

- `id` is the member's global id; `userName` is what the provider sent (compared
  ignoring case, unique among the organization's present members), else the email.
- POST makes an ACTIVE member with the connection's default role, seats permitting. It
  reuses the Roster account of the address, else creates a verified account without a
  password, mailed a link to choose one. The address is `userName` when that is an
  address, else the work (else primary, else first) of `emails`. A REMOVED member of
  that account is brought back (the same id), as a new member would be.
- The account's address never changes through SCIM (the account is the person's, across
  organizations); `emails`, `name` and `displayName` are kept as sent, and the member's
  name in Roster follows displayName, else name.formatted, else given and family names.
- `active: false` blocks, `active: true` unblocks, DELETE removes (the seat frees,
  assignments and team memberships go): the members service's own changes
  (`members.block_locked`, `unblock_locked`, `end_membership`), with via "scim".
- Expiry reads as everywhere (app/services/expiry.py): a member past `expires_at` is
  REMOVED from that instant (not listed, 404, no seat, their userName free again).
- A member SCIM writes becomes `managedBy: SCIM`; their role follows their groups
  (app/services/scim.py `apply_roles`). The OWNER is never changed: a change to them answers 403.

Every change runs under the organization's lock and writes its events with via "scim".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from scim2_models import InvalidValueException, NotFoundException, UniquenessException
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from app.clock import now
from app.errors import DomainError, ErrorCode
from app.ids import pk_of
from app.models import Member, Organization, ScimConnection, Team, TeamMember, User
from app.models.enums import ManagedBy, MemberStatus, OrganizationRole
from app.services import events, members
from app.services.account_mail import send_welcome
from app.services.audit import Actor
from app.services.expiry import member_expired, present_q, status_now
from app.services.expiry_sweep import expire_member_row, settle_role
from app.services.invitations import ensure_seat
from app.services.scim import apply_roles, role_for_groups
from app.services.scim_filters import user_query
from app.services.scim_patch import Shape, apply, from_body
from app.services.tx import atomic, locked
from app.services.validation import clean_email

MAX_RESULTS = 100
MAX_EMAILS = 20
Row = TypeVar("Row", bound=Model)

USER = Shape(
    urn="urn:ietf:params:scim:schemas:core:2.0:User",
    simple=("userName", "externalId", "displayName", "active"),
    complex={"name": ("givenName", "familyName", "formatted")},
    multi={"emails": ("value", "type", "primary")},
    booleans=frozenset({"active", "emails.primary"}),
    required=frozenset({"userName", "active"}),
)
PROFILE_KEYS = ("name", "displayName", "emails")


def owner_protected() -> DomainError:
    return DomainError(ErrorCode.OWNER_PROTECTED, "SCIM never changes the organization's owner.")


# Reading ------------------------------------------------------------------------------


def state_of(member: Member) -> dict[str, Any]:
    """The SCIM attributes of `member` (profile as last sent, else from Roster)."""
    profile = member.scim_profile
    if profile is None:
        profile = {
            "displayName": member.name,
            "emails": [{"value": member.email, "type": "work", "primary": True}],
        }
    return {
        "userName": member.scim_user_name or member.email,
        "externalId": member.external_id,
        "active": status_now(member) == MemberStatus.ACTIVE,
        **{key: profile.get(key) for key in PROFILE_KEYS},
    }


async def list_users(
    connection: ScimConnection, filter_text: str | None, start_index: int, count: int
) -> tuple[int, list[Member]]:
    """The total and one page (ordered by id); `count` is capped at MAX_RESULTS."""
    query = Member.filter(present_q(), organization_id=connection.organization_id)
    if filter_text:
        query = query.filter(user_query(filter_text))
    return await page_of(query, start_index, count)


async def page_of(query: QuerySet[Row], start_index: int, count: int) -> tuple[int, list[Row]]:
    """The total and one page of `query` by id: from `startIndex` (1-based), `count` rows
    capped at MAX_RESULTS (0: the total alone)."""
    total = await query.count()
    size = min(max(count, 0), MAX_RESULTS)
    if size == 0:
        return total, []
    return total, list(await query.order_by("id").offset(max(start_index, 1) - 1).limit(size))


async def get_member(connection: ScimConnection, member_id: str) -> Member:
    """A present member of the connection's organization (not past `expires_at`), else
    404."""
    pk = pk_of(member_id, "Member")
    member = None
    if pk is not None:
        member = await Member.filter(
            present_q(), id=pk, organization_id=connection.organization_id
        ).first()
    if member is None:
        raise NotFoundException(detail=f"No user {member_id}.")
    return member


async def groups_of(connection: ScimConnection, member_ids: list[int]) -> dict[int, list[Team]]:
    """Each member's SCIM groups, by name (one query)."""
    found: dict[int, list[Team]] = {pk: [] for pk in member_ids}
    if not member_ids:
        return found
    rows = (
        await TeamMember.filter(member_id__in=member_ids, team__managed_by=ManagedBy.SCIM)
        .select_related("team")
        .order_by("team__name", "team_id")
    )
    for row in rows:
        found[row.member_id].append(row.team)
    return found


# Roles ------------------------------------------------------------------------------


# Writing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    user_name: str
    email: str
    state: dict[str, Any]


def _display_name(state: dict[str, Any]) -> str | None:
    name = state.get("name") or {}
    for candidate in (
        state.get("displayName"),
        name.get("formatted"),
        " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p),
    ):
        cleaned = " ".join(str(candidate or "").split())[:200]
        if cleaned:
            return cleaned
    return None


def _address(state: dict[str, Any]) -> str:
    """The account address: userName if it is one, else the work, primary or first email."""
    emails: list[dict[str, Any]] = [e for e in state.get("emails") or [] if e.get("value")]
    candidates = [str(state.get("userName") or "")]
    candidates += [str(e["value"]) for e in emails if str(e.get("type", "")).lower() == "work"]
    candidates += [str(e["value"]) for e in emails if e.get("primary") is True]
    candidates += [str(e["value"]) for e in emails]
    for candidate in candidates:
        try:
            return clean_email(candidate, "userName")
        except DomainError:
            continue
    raise InvalidValueException(
        detail="userName or one of emails must be an email address (the member's account)."
    )


def _wanted(body: dict[str, Any]) -> _Wanted:
    state = from_body(USER, body, MAX_EMAILS)
    user_name = " ".join(str(state.get("userName") or "").split())
    if not user_name:
        raise InvalidValueException(detail="userName is required.")
    state["userName"] = user_name
    return _Wanted(user_name, _address(state), state)


async def _check_unique(
    organization_id: int, user_name: str, email: str | None, except_member: int | None
) -> None:
    """409 uniqueness when another present member has this userName (or address)."""
    clash = Q(scim_user_name__iexact=user_name) | Q(scim_user_name=None, email=user_name.lower())
    if email is not None:
        clash |= Q(email=email)
    query = Member.filter(clash, present_q(), organization_id=organization_id)
    if except_member is not None:
        query = query.exclude(id=except_member)
    if await query.exists():
        raise UniquenessException(detail=f"A member with userName {user_name} exists already.")


def _profile(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state[key] for key in PROFILE_KEYS if state.get(key) is not None}


async def _account(email: str, state: dict[str, Any], organization: Organization) -> User:
    """The Roster account of `email`, else a new verified one with no password (it
    cannot log in until its owner follows the mailed link)."""
    user = await User.get_or_none(email=email)
    if user is not None:
        return user
    user = await User.create(
        email=email,
        name=_display_name(state) or email.split("@")[0][:200],
        password_hash="",
        email_verified_at=now(),
    )
    await send_welcome(user, organization.name)
    return user


async def create_user(actor: Actor, connection: ScimConnection, body: dict[str, Any]) -> Member:
    wanted = _wanted(body)
    try:
        return await _create(actor, connection, wanted)
    except IntegrityError:
        # Another organization's provider created the same new account meanwhile: the
        # second try reuses it. A second failure is a member of this organization.
        try:
            return await _create(actor, connection, wanted)
        except IntegrityError:
            raise UniquenessException(detail="A member with this address exists already.") from None


async def _create(actor: Actor, connection: ScimConnection, wanted: _Wanted) -> Member:
    active = wanted.state.get("active")
    status = MemberStatus.BLOCKED if active is False else MemberStatus.ACTIVE
    async with atomic():
        organization = await locked(connection.organization_id)
        await _check_unique(organization.id, wanted.user_name, wanted.email, None)
        await ensure_seat(organization)
        user = await _account(wanted.email, wanted.state, organization)
        role = role_for_groups(connection, [])
        member = await Member.get_or_none(organization_id=organization.id, user_id=user.id)
        if member is not None and member_expired(member):
            # Past its end but not swept yet: write the expiry first, then rejoin.
            await expire_member_row(member, organization)
        reactivated = member is not None
        if member is None:
            member = Member(organization_id=organization.id, user_id=user.id)
        member.name = _display_name(wanted.state) or user.name
        member.email = user.email
        member.set_role(role)
        member.status = status
        member.blocked_at = now() if status == MemberStatus.BLOCKED else None
        member.removed_at = None
        member.managed_by = ManagedBy.SCIM
        member.scim_connection_id = connection.id
        member.external_id = wanted.state.get("externalId")
        member.scim_user_name = wanted.user_name
        member.scim_profile = _profile(wanted.state)
        if reactivated:
            member.joined_at = now()
        await member.save()
        await events.member_joined_by_scim(actor, member, reactivated=reactivated)
        if status == MemberStatus.BLOCKED:
            await events.member_blocked(actor, member, via="scim")
    return member


async def _locked_member(connection: ScimConnection, member_id: str) -> tuple[Organization, Member]:
    found = await get_member(connection, member_id)
    organization = await locked(found.organization_id)
    member = await get_member(connection, member_id)
    # A temporary role past its end is written down first, as for any change to a member.
    await settle_role(member)
    return organization, member


async def _write(
    actor: Actor,
    connection: ScimConnection,
    organization: Organization,
    member: Member,
    state: dict[str, Any],
) -> Member:
    """Apply the wanted `state` to `member` (with the organization locked)."""
    before = state_of(member)
    changed = {k for k in ("userName", "externalId", *PROFILE_KEYS) if state.get(k) != before[k]}
    active = state.get("active")
    status_change = active is not None and active != before["active"]
    if not changed and not status_change:
        return member
    if member.role == OrganizationRole.OWNER:
        raise owner_protected()
    user_name = " ".join(str(state.get("userName") or "").split())
    if not user_name:
        raise InvalidValueException(detail="userName is required.")
    if "userName" in changed:
        await _check_unique(organization.id, user_name, None, member.id)
    fields: list[str] = []
    if changed:
        member.scim_user_name = user_name
        member.external_id = state.get("externalId")
        member.scim_profile = _profile(state)
        fields += ["scim_user_name", "external_id", "scim_profile"]
        name = _display_name(state)
        if name and name != member.name:
            member.name = name
            fields.append("name")
    newly_managed = member.managed_by != ManagedBy.SCIM
    if newly_managed:
        member.managed_by = ManagedBy.SCIM
        member.scim_connection_id = connection.id
        fields += ["managed_by", "scim_connection_id"]
    if fields:
        await member.save(update_fields=fields)
    if changed:
        await events.member_updated(
            actor,
            member,
            {k: before[k] for k in sorted(changed)},
            {k: state.get(k) for k in sorted(changed)},
            via="scim",
        )
    if status_change:
        if active:
            await members.unblock_locked(actor, member, organization, via="scim")
        else:
            await members.block_locked(actor, member, via="scim")
    if newly_managed:
        await apply_roles(actor, connection, organization.id, [member.id])
        await member.refresh_from_db(fields=["role", "role_rank"])
    return member


async def replace_user(
    actor: Actor, connection: ScimConnection, member_id: str, body: dict[str, Any]
) -> Member:
    """PUT: every attribute Roster keeps takes the body's value (absent: cleared;
    `active` absent: unchanged)."""
    state = from_body(USER, body, MAX_EMAILS)
    async with atomic():
        organization, member = await _locked_member(connection, member_id)
        return await _write(actor, connection, organization, member, state)


async def patch_user(
    actor: Actor, connection: ScimConnection, member_id: str, body: dict[str, Any]
) -> Member:
    async with atomic():
        organization, member = await _locked_member(connection, member_id)
        state = apply(USER, state_of(member), body, MAX_EMAILS)
        return await _write(actor, connection, organization, member, state)


async def delete_user(actor: Actor, connection: ScimConnection, member_id: str) -> None:
    """REMOVED: the seat frees at once; project assignments, team memberships and any
    pending ownership transfer go. No mail: the provider deprovisioned them."""
    async with atomic():
        organization, member = await _locked_member(connection, member_id)
        if member.role == OrganizationRole.OWNER:
            raise owner_protected()
        await members.end_membership(
            actor, member, organization, removed=True, via="scim", notify=False
        )
