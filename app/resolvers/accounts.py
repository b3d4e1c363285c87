"""Accounts: the signed-in user, who reads a user's email, user nodes, and the account
changes (sign-up, log-in, log-out, email verification, password reset).

Resolvers return models and raise DomainError; the schema wraps what they return.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Invitation, Member, User
from app.models.enums import InvitationStatus
from app.resolvers.context import Context
from app.resolvers.loaders import get_loader, load_one
from app.services import accounts as service
from app.services import onboarding
from app.services.accounts import SignedIn
from app.services.expiry import active_q, present_q
from app.services.invitations import pending_for_email
from app.services.visibility import may_read_user_email, reads_private, sees_invitations_to


@dataclass(frozen=True)
class PersonOrgs:
    """The organizations a person belongs to (ACTIVE or BLOCKED) and those they are
    invited to (a PENDING invitation to their address, expired or not)."""

    member_of: frozenset[int]
    invited_to: frozenset[int]


async def _person_orgs(keys: list[tuple[int, str]]) -> list[PersonOrgs]:
    """For (user id, email): where the person belongs and where they are invited."""
    user_ids = [key[0] for key in keys]
    emails = [key[1] for key in keys]
    belongs: dict[int, set[int]] = {}
    for user_id, org_id in await Member.filter(present_q(), user_id__in=user_ids).values_list(
        "user_id", "organization_id"
    ):
        belongs.setdefault(user_id, set()).add(org_id)
    invited: dict[str, set[int]] = {}
    for email, org_id in await Invitation.filter(
        email__in=emails, status=InvitationStatus.PENDING
    ).values_list("email", "organization_id"):
        invited.setdefault(email, set()).add(org_id)
    return [
        PersonOrgs(frozenset(belongs.get(user_id, ())), frozenset(invited.get(email, ())))
        for user_id, email in keys
    ]


async def person_orgs(ctx: Context, user_id: int, email: str) -> PersonOrgs:
    """Where a person belongs and where they are invited (batched per request)."""
    loader = get_loader(ctx, "person_orgs", _person_orgs)
    return await loader.load((user_id, email))


async def user_org_ids(ctx: Context, user_id: int, email: str) -> set[int]:
    """The organizations a person belongs to or is invited to: an admin who can list the
    invitation (and its address) may read the invitee's email too."""
    found = await person_orgs(ctx, user_id, email)
    return set(found.member_of | found.invited_to)


async def user_email_visible(ctx: Context, user_id: int, email: str) -> bool:
    """Whether the viewer may read this user's email (app.services.visibility)."""
    is_self = ctx.is_self(user_id)
    private_orgs = {
        org_id for org_id, access in (await ctx.accesses()).items() if reads_private(access)
    }
    # Only someone who reads private data somewhere needs the person's organizations.
    person_orgs = await user_org_ids(ctx, user_id, email) if private_orgs and not is_self else set()
    return may_read_user_email(is_self, private_orgs, person_orgs)


def me(ctx: Context) -> User | None:
    """The signed-in user; None when anonymous or for an API key."""
    return ctx.viewer.user


async def user_node(ctx: Context, pk: int) -> User | None:
    """Users are visible to themselves and to those who share an organization with them
    as members. A pending invitee's account stays invisible until they accept: inviting
    an address must not tell whether it has an account, nor show that account."""
    if ctx.viewer.is_anonymous:
        return None
    user = await load_one(ctx, User, pk)
    if user is None or ctx.is_self(pk):
        return user
    found = await person_orgs(ctx, user.id, user.email)
    return user if set(await ctx.accesses()) & found.member_of else None


async def memberships(ctx: Context, user_id: int) -> list[Member]:
    """The viewer's memberships ACTIVE now; empty for anyone else's user."""
    if not ctx.is_self(user_id):
        return []
    return list(await Member.filter(active_q(), user_id=user_id).order_by("id"))


async def pending_invitations(ctx: Context, user_id: int) -> list[Invitation]:
    """Pending, unexpired invitations to the viewer's address, once it is verified; empty
    for anyone else's user."""
    viewer = ctx.viewer.user
    if viewer is None or viewer.id != user_id or not sees_invitations_to(viewer, viewer.email):
        return []
    return await pending_for_email(viewer.email)


# Changes.


async def sign_up(
    ctx: Context, email: str, password: str, name: str, invitation_token: str | None
) -> SignedIn:
    return await onboarding.sign_up(email, password, name, invitation_token, ctx.ip)


async def log_in(ctx: Context, email: str, password: str) -> SignedIn:
    return await service.log_in(email, password, ctx.ip)


async def log_out(ctx: Context) -> None:
    session = ctx.viewer.session
    assert session is not None  # IsUser ran first: a user is signed in with a session
    await service.log_out(session)


async def verify_email(ctx: Context, token: str) -> User:
    return await onboarding.verify_email(token, ip=ctx.ip)


async def request_password_reset(ctx: Context, email: str) -> None:
    await service.request_password_reset(email)


async def reset_password(ctx: Context, token: str, password: str) -> None:
    await service.reset_password(token, password)
