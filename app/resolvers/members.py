from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from app.auth.roles import Permission, has_permission
from app.errors import DomainError, not_found
from app.ids import pk_of
from app.models import Member, Organization, ProjectAssignment, User
from app.models.enums import MemberStatus
from app.schema.errors import UserError, mutate
from app.schema.loaders import load_one
from app.services import members as service

if TYPE_CHECKING:
    from app.schema.members import MemberType


async def _privileged(info: strawberry.Info, organization_id: int) -> bool:
    access = await info.context.access(organization_id)
    return access is not None and has_permission(access.role, Permission.READ_PRIVATE)


def _is_self(info: strawberry.Info, user_id: int) -> bool:
    user = info.context.viewer.user
    return user is not None and user.id == user_id


async def member_email(info: strawberry.Info, member: MemberType) -> str | None:
    if (
        member.email_visible
        or _is_self(info, member.user_id)
        or await _privileged(info, member.organization_id)
    ):
        return member.raw_email
    return None


async def member_user(info: strawberry.Info, member: MemberType) -> Any:
    from app.schema.accounts import UserType

    user = await load_one(info, User, member.user_id)
    visible = (
        member.email_visible
        or _is_self(info, member.user_id)
        or await _privileged(info, member.organization_id)
    )
    return UserType.from_model(user, email_visible=visible)


USER_COLUMNS = ("id", "name", "email", "email_verified_at", "created_at")
ASSIGNMENT_COLUMNS = (
    "id",
    "role",
    "created_at",
    "member_id",
    "project_id",
    "project__name",
    "project__slug",
    "project__is_default",
    "project__created_at",
)


def _selected(selections: list, path: tuple[str, ...]) -> set[str]:
    """Names of the fields selected at `path` below `selections` (fragments included)."""
    names: set[str] = set()
    for selection in selections:
        if not hasattr(selection, "name"):  # inline fragment
            names |= _selected(selection.selections, path)
        elif not path:
            names.add(selection.name)
        elif selection.name == path[0]:
            names |= _selected(selection.selections, path[1:])
        elif selection.name not in ("edges", "nodes", "node", "pageInfo", "totalCount"):
            names |= _selected(getattr(selection, "selections", []), path)  # fragment spread
    return names


def selected_member_fields(info: strawberry.Info) -> set[str]:
    """What the query asks of each member in a connection field."""
    top = info.selected_fields[0].selections
    return _selected(top, ("edges", "node")) | _selected(top, ("nodes",))


async def preload(info: strawberry.Info, members: list[MemberType], privileged: bool) -> None:
    """Fetch in bulk what the selection needs of a page of members (two queries at most),
    so that `user` and `projectAssignments { project }` resolve synchronously."""
    from app.schema.accounts import UserType
    from app.schema.projects import ProjectAssignmentType

    if not members:
        return
    wanted = selected_member_fields(info)
    ids = [m.pk for m in members]
    if "user" in wanted:
        rows = await User.filter(id__in=[m.user_id for m in members]).values(*USER_COLUMNS)
        users = {row["id"]: row for row in rows}
        for member in members:
            visible = privileged or _is_self(info, member.user_id)
            member.preloaded_user = UserType.from_row(users[member.user_id], visible)
    if "projectAssignments" in wanted:
        grouped: dict[int, list] = {pk: [] for pk in ids}
        rows = (
            await ProjectAssignment.filter(member_id__in=ids)
            .order_by("id")
            .values(*ASSIGNMENT_COLUMNS)
        )
        organization_id = members[0].organization_id
        for row in rows:
            grouped[row["member_id"]].append(ProjectAssignmentType.from_row(row, organization_id))
        for member in members:
            member.preloaded_assignments = grouped[member.pk]


async def member_organization(info: strawberry.Info, member: MemberType) -> Any:
    from app.schema.organizations import OrganizationType

    return OrganizationType.from_model(await load_one(info, Organization, member.organization_id))


async def member_invited_by(info: strawberry.Info, member: MemberType) -> Any:
    from app.schema.members import MemberType

    inviter = await load_one(info, Member, member.invited_by_id)
    if inviter is None or not await _may_see(info, inviter):
        return None
    return MemberType.from_model(inviter)


async def _may_see(info: strawberry.Info, member: Member) -> bool:
    """Active members see ACTIVE members; ADMIN+ see every member of their organization."""
    access = await info.context.access(member.organization_id)
    if access is None:
        return False
    return member.status == MemberStatus.ACTIVE or has_permission(
        access.role, Permission.READ_PRIVATE
    )


async def member_node(info: strawberry.Info, pk: int) -> Any:
    from app.schema.members import MemberType

    member = await load_one(info, Member, pk)
    if member is None or not await _may_see(info, member):
        return None
    return MemberType.from_model(member)


async def load_member(info: strawberry.Info, global_id: str, field: str = "memberId") -> Member:
    """The member behind an input id, if the viewer can see it; else NOT_FOUND."""
    member = await load_one(info, Member, pk_of(global_id, "Member"))
    if member is None or not await _may_see(info, member):
        raise not_found("Member", field)
    return member


async def _actor(info: strawberry.Info, member: Member):
    return info.context.actor(await info.context.access(member.organization_id))


def _member_change(action):
    async def run(info: strawberry.Info, input: Any) -> Any:
        from app.schema.members import MemberPayload, MemberType

        async def change() -> dict[str, Any]:
            member = await load_member(info, input.member_id)
            updated = await action(await _actor(info, member), member.id, input)
            return {"member": MemberType.from_model(updated)}

        return await mutate(info, MemberPayload, change)

    return run


update_member_role = _member_change(lambda a, pk, i: service.update_role(a, pk, i.role))
block_member = _member_change(lambda a, pk, i: service.block(a, pk))
unblock_member = _member_change(lambda a, pk, i: service.unblock(a, pk))
remove_member = _member_change(lambda a, pk, i: service.remove(a, pk))
update_member = _member_change(
    lambda a, pk, i: service.update_profile(
        a,
        pk,
        {k: getattr(i, k) for k in ("username", "title") if getattr(i, k) is not strawberry.UNSET},
    )
)


async def remove_members(info: strawberry.Info, input: Any) -> Any:
    """Each member on its own: one refusal does not stop the rest."""
    from app.schema.members import MemberType, RemoveMemberResult, RemoveMembersPayload
    from app.services.validation import check_list_size

    async def change() -> dict[str, Any]:
        check_list_size(input.member_ids, "memberIds")
        results = []
        for global_id in input.member_ids:
            try:
                member = await load_member(info, global_id, "memberIds")
                removed = await service.remove(await _actor(info, member), member.id)
                results.append(
                    RemoveMemberResult(
                        member_id=global_id, errors=[], member=MemberType.from_model(removed)
                    )
                )
            except DomainError as error:
                results.append(
                    RemoveMemberResult(member_id=global_id, errors=[UserError.from_domain(error)])
                )
            info.context.after_write()
        return {"results": results}

    return await mutate(info, RemoveMembersPayload, change)


async def leave_organization(info: strawberry.Info, input: Any) -> Any:
    from app.schema.members import OkPayload

    async def change() -> dict[str, Any]:
        pk = pk_of(input.organization_id, "Organization")
        access = await info.context.access(pk)
        if access is None:
            raise not_found("Organization", "organizationId")
        await service.leave(info.context.actor(access), pk, info.context.viewer.user)
        return {"ok": True}

    return await mutate(info, OkPayload, change)


async def send_password_reset(info: strawberry.Info, input: Any) -> Any:
    from app.schema.members import OkPayload

    async def change() -> dict[str, Any]:
        member = await load_member(info, input.member_id)
        await service.send_password_reset(await _actor(info, member), member.id)
        return {"ok": True}

    return await mutate(info, OkPayload, change)
