from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from app.auth.roles import Permission, has_permission
from app.models import Invitation, Member, User
from app.models.enums import InvitationStatus, MemberStatus
from app.schema.errors import mutate
from app.schema.loaders import get_loader, load_one
from app.services import accounts

if TYPE_CHECKING:
    from app.schema.accounts import UserType


async def _user_org_ids(keys: list[tuple[int, str]]) -> list[set[int]]:
    """For (user id, email): organizations the person belongs to or is invited to."""
    user_ids = [k[0] for k in keys]
    emails = [k[1] for k in keys]
    belongs: dict[int, set[int]] = {}
    for user_id, org_id in await Member.filter(
        user_id__in=user_ids, status__in=[MemberStatus.ACTIVE, MemberStatus.BLOCKED]
    ).values_list("user_id", "organization_id"):
        belongs.setdefault(user_id, set()).add(org_id)
    invited: dict[str, set[int]] = {}
    for email, org_id in await Invitation.filter(
        email__in=emails, status=InvitationStatus.PENDING
    ).values_list("email", "organization_id"):
        invited.setdefault(email, set()).add(org_id)
    return [belongs.get(u, set()) | invited.get(e, set()) for u, e in keys]


async def can_read_email(info: strawberry.Info, user_id: int, email: str) -> bool:
    """The person themself, or ADMIN+ of an organization they belong to or are invited to."""
    viewer = info.context.viewer
    if viewer.user is not None and viewer.user.id == user_id:
        return True
    privileged = {
        org_id
        for org_id, access in (await info.context.accesses()).items()
        if has_permission(access.role, Permission.READ_PRIVATE)
    }
    if not privileged:
        return False
    orgs = await get_loader(info, "user_org_ids", _user_org_ids).load((user_id, email))
    return bool(orgs & privileged)


async def user_email(info: strawberry.Info, user: UserType) -> str | None:
    if user.email_known_visible or await can_read_email(info, user.pk, user.raw_email):
        return user.raw_email
    return None


def _is_me(info: strawberry.Info, user: UserType) -> bool:
    viewer_user = info.context.viewer.user
    return viewer_user is not None and viewer_user.id == user.pk


async def memberships(info: strawberry.Info, user: UserType) -> list[Any]:
    from app.schema.members import MemberType

    if not _is_me(info, user):
        return []
    rows = await Member.filter(user_id=user.pk, status=MemberStatus.ACTIVE).order_by("id")
    return [MemberType.from_model(row) for row in rows]


async def pending_invitations(info: strawberry.Info, user: UserType) -> list[Any]:
    from app.schema.invitations import InvitationType
    from app.services.invitations import pending_for_email

    viewer_user = info.context.viewer.user
    if not _is_me(info, user) or not viewer_user.email_verified:
        return []
    return [InvitationType.from_model(row) for row in await pending_for_email(viewer_user.email)]


async def user_node(info: strawberry.Info, pk: int) -> UserType | None:
    """Users are visible to themselves and to people who share an organization with them."""
    from app.schema.accounts import UserType

    user = await load_one(info, User, pk)
    if user is None or info.context.viewer.is_anonymous:
        return None
    if info.context.viewer.user is not None and info.context.viewer.user.id == pk:
        return UserType.from_model(user, email_visible=True)
    shared = set(await info.context.accesses()) & await get_loader(
        info, "user_org_ids", _user_org_ids
    ).load((user.id, user.email))
    return UserType.from_model(user) if shared else None


async def sign_up(info: strawberry.Info, input: Any) -> Any:
    from app.schema.accounts import SignUpPayload, UserType
    from app.schema.members import MemberType

    async def change() -> dict[str, Any]:
        result = await accounts.sign_up(
            input.email, input.password, input.name, input.invitation_token, info.context.ip
        )
        return {
            "user": UserType.from_model(result.user, email_visible=True),
            "token": result.token,
            "member": MemberType.from_model(result.member) if result.member else None,
        }

    return await mutate(info, SignUpPayload, change)


async def log_in(info: strawberry.Info, input: Any) -> Any:
    from app.schema.accounts import LogInPayload, UserType

    async def change() -> dict[str, Any]:
        result = await accounts.log_in(input.email, input.password)
        return {"user": UserType.from_model(result.user, email_visible=True), "token": result.token}

    return await mutate(info, LogInPayload, change)


async def log_out(info: strawberry.Info) -> Any:
    from app.schema.accounts import LogOutPayload

    async def change() -> dict[str, Any]:
        await accounts.log_out(info.context.viewer.session)
        return {"ok": True}

    return await mutate(info, LogOutPayload, change)


async def verify_email(info: strawberry.Info, input: Any) -> Any:
    from app.schema.accounts import UserType, VerifyEmailPayload

    async def change() -> dict[str, Any]:
        user = await accounts.verify_email(input.token, ip=info.context.ip)
        return {"user": UserType.from_model(user, email_visible=True)}

    return await mutate(info, VerifyEmailPayload, change)


async def request_password_reset(info: strawberry.Info, input: Any) -> Any:
    from app.schema.accounts import RequestPasswordResetPayload

    async def change() -> dict[str, Any]:
        await accounts.request_password_reset(input.email)
        return {"ok": True}

    return await mutate(info, RequestPasswordResetPayload, change)


async def reset_password(info: strawberry.Info, input: Any) -> Any:
    from app.schema.accounts import ResetPasswordPayload

    async def change() -> dict[str, Any]:
        await accounts.reset_password(input.token, input.password)
        return {"ok": True}

    return await mutate(info, ResetPasswordPayload, change)
