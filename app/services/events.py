"""The audit vocabulary: one function per action, each writing its event with
`audit.record` in the caller's transaction (after Saleor's account/events.py).

Services call these and never `audit.record` directly, so this module is the whole
list of what the audit trail (and, later, the events feed and webhooks) can say.
An event's organization is the target's; its `data` holds the values that matter.
Every id in `data` is a global id (`_gid`), as clients see ids everywhere else: no
database id reaches a client through the audit trail, its exports or webhooks.

Organizations (target Organization)
    organization.created            name, slug
    organization.updated            before, after (the changed settings)
    organization.deleted            name, slug (recorded outside the organization)
Members (target Member, unless noted)
    member.joined                   role, via "invitation" (projects) or "domain" (domain)
                                    or "scim" (reactivated: a removed member came back)
    member.auto_join_skipped        email, domain, reason, seatLimit (target User)
    member.role_changed             before, after
    member.updated                  before, after (username, title)
    member.blocked
    member.unblocked
    member.removed                  role, assignmentsDropped
    member.left                     role, assignmentsDropped
    member.password_reset_sent
Invitations (target Invitation)
    invitation.created              email, role, expiresAt, projects
    invitation.resent               sendCount, wasExpired
    invitation.extended             before, after (expiry)
    invitation.updated              role {before, after} and/or projects
    invitation.revoked              email
    invitation.deleted              email, status
    invitation.accepted             email, memberId
    invitation.declined             email
Projects (target Project; assignments target ProjectAssignment)
    project.created                 name, slug, isDefault
    project.updated                 before, after
    project.deleted                 name, slug, assignmentsDropped
    project.assignment_set          projectId, memberId, role
    project.assignment_changed      projectId, memberId, role, before
    project.assignment_removed      projectId, memberId, role
Ownership (target OwnershipTransfer)
    ownership.transfer_requested    fromMemberId, toMemberId, expiresAt, replacedTransferId
    ownership.transfer_confirmed    fromMemberId, toMemberId, toRoleBefore
    ownership.transfer_cancelled    fromMemberId, toMemberId
Domains (target Domain)
    domain.added                    domain, verificationEmail, autoJoin, autoJoinRole
    domain.verified                 domain
    domain.removed                  domain, verified
API keys (target ApiKey)
    api_key.created                 name, role, prefix, expiresAt
    api_key.revoked                 name, prefix
Teams (target Team; each may carry via "scim" when SCIM made the change)
    team.created                    name, slug, description, managedBy
    team.updated                    before, after (name, slug, description)
    team.deleted                    name, slug, membersDropped
    team.members_added              memberIds (those added; never one already there)
    team.members_removed            memberIds (those removed)
    team.project_roles_set          before, after ([{projectId, role}], by project)
SCIM connections (target ScimConnection; changes SCIM makes carry data.via = "scim":
member.joined, member.updated, member.role_changed, member.blocked, member.unblocked,
member.removed, and the team.* events of SCIM groups, which are teams)
    scim_connection.created         name, defaultRole, roleMappings
    scim_connection.updated         before, after (name, defaultRole, roleMappings)
    scim_connection.revoked         name
Temporary access (the expiry sweep acts with no actor)
    member.expiry_set               before, after (expiresAt)
    member.role_changed             also until, revertsTo, clearedUntil (updateMemberRole)
    member.expired                  role, assignmentsDropped, expiresAt
    member.role_reverted            before, after, until
    member.role_revert_refused      role, revertsTo, until, reason (an error code)
    project.assignment_expiry_set   projectId, memberId, role, expiresAtBefore, expiresAt
    project.assignment_expired      projectId, memberId, role, expiresAt
Join policy and join requests (target Domain; JoinRequest; Member for member.joined)
    domain.updated                  before, after (joinPolicy, autoJoinRole)
    join_request.created            userId, email, expiresAt
    join_request.approved           userId, email, role, memberId
    join_request.denied             userId, email
    join_request.withdrawn          userId, email
    member.joined                   role, via "join_request" (joinRequestId)
Invitations without mail and temporary membership (target Invitation)
    invitation.created              also sendEmail (false, only when not mailed) and
                                    membershipExpiresAt (only when set)
Webhook endpoints (target WebhookEndpoint)
    webhook_endpoint.created        url, description, eventTypes
    webhook_endpoint.updated        before, after (url, description, eventTypes, enabled)
    webhook_endpoint.secret_rotated previousSecretExpiresAt
    webhook_endpoint.deleted        url
    webhook_endpoint.disabled       reason (by the delivery worker: a 410, 20 failures)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.errors import ErrorCode
from app.ids import to_global_id
from app.models import (
    ApiKey,
    AuditEvent,
    Domain,
    Invitation,
    JoinRequest,
    Member,
    Organization,
    OwnershipTransfer,
    Project,
    ProjectAssignment,
    ScimConnection,
    Team,
    User,
    WebhookEndpoint,
)
from app.models.enums import InvitationStatus, OrganizationRole, ProjectRole
from app.services import audit
from app.services.audit import Actor
from app.services.tx import after_commit
from app.webhooks import outbox as webhook_outbox

if TYPE_CHECKING:
    from app.services.projects import AssignmentSpec


def _gid(type_name: str, pk: int | None) -> str | None:
    """The global id of row `pk` of `type_name`, as every id in `data` is written."""
    return None if pk is None else to_global_id(type_name, pk)


async def record(
    actor: Actor,
    action: str,
    *,
    organization_id: int | None,
    target_type: str,
    target_id: int | None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """`audit.record` (which also writes the event's webhook deliveries), and the webhook
    worker woken once the transaction commits."""
    event = await audit.record(
        actor,
        action,
        organization_id=organization_id,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )
    if organization_id is not None:
        after_commit(webhook_outbox.notify)
    return event


# Organizations ---------------------------------------------------------------------------


async def _organization(
    actor: Actor, action: str, organization: Organization, data: dict[str, Any]
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=organization.id,
        target_type="Organization",
        target_id=organization.id,
        data=data,
    )


async def organization_created(actor: Actor, organization: Organization) -> AuditEvent:
    data = {"name": organization.name, "slug": organization.slug}
    return await _organization(actor, "organization.created", organization, data)


async def organization_updated(
    actor: Actor, organization: Organization, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    data = {"before": before, "after": after}
    return await _organization(actor, "organization.updated", organization, data)


async def organization_deleted(actor: Actor, organization: Organization) -> AuditEvent:
    """Recorded outside the organization (organization_id null), after it is gone, so
    that the event survives the cascade."""
    return await record(
        actor,
        "organization.deleted",
        organization_id=None,
        target_type="Organization",
        target_id=organization.id,
        data={"name": organization.name, "slug": organization.slug},
    )


# Members ---------------------------------------------------------------------------------


async def _member(
    actor: Actor, action: str, member: Member, data: dict[str, Any] | None = None
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=member.organization_id,
        target_type="Member",
        target_id=member.id,
        data=data,
    )


async def member_joined_by_invitation(actor: Actor, member: Member, projects: int) -> AuditEvent:
    """`member.joined` by accepting an invitation with `projects` project assignments."""
    data = {"role": member.role, "via": "invitation", "projects": projects}
    return await _member(actor, "member.joined", member, data)


async def member_joined_by_scim(actor: Actor, member: Member, *, reactivated: bool) -> AuditEvent:
    """`member.joined` provisioned by an identity provider (SCIM), `reactivated` when a
    removed member came back."""
    data = {"role": member.role, "via": "scim", "reactivated": reactivated}
    return await _member(actor, "member.joined", member, data)


async def member_joined_by_domain(actor: Actor, member: Member, domain: Domain) -> AuditEvent:
    """`member.joined` automatically, by a verified email at the organization's domain."""
    data = {"role": member.role, "via": "domain", "domain": domain.domain}
    return await _member(actor, "member.joined", member, data)


async def member_auto_join_skipped(
    actor: Actor, user: User, organization: Organization, domain: Domain, reason: ErrorCode
) -> AuditEvent:
    return await record(
        actor,
        "member.auto_join_skipped",
        organization_id=organization.id,
        target_type="User",
        target_id=user.id,
        data={
            "email": user.email,
            "domain": domain.domain,
            "reason": reason.value,
            "seatLimit": organization.seat_limit,
        },
    )


def _via(data: dict[str, Any], via: str | None) -> dict[str, Any]:
    """`data` with `via` (e.g. "scim": the change came from an identity provider)."""
    return data if via is None else {**data, "via": via}


async def member_role_changed(
    actor: Actor, member: Member, before: OrganizationRole | str, *, via: str | None = None
) -> AuditEvent:
    data = {"before": before, "after": OrganizationRole(member.role).value}
    return await _member(actor, "member.role_changed", member, _via(data, via))


async def member_updated(
    actor: Actor,
    member: Member,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    via: str | None = None,
) -> AuditEvent:
    data = _via({"before": before, "after": after}, via)
    return await _member(actor, "member.updated", member, data)


async def member_blocked(actor: Actor, member: Member, *, via: str | None = None) -> AuditEvent:
    return await _member(actor, "member.blocked", member, _via({}, via))


async def member_unblocked(actor: Actor, member: Member, *, via: str | None = None) -> AuditEvent:
    return await _member(actor, "member.unblocked", member, _via({}, via))


async def member_removed(
    actor: Actor, member: Member, assignments_dropped: int, *, via: str | None = None
) -> AuditEvent:
    data = {"role": member.role, "assignmentsDropped": assignments_dropped}
    return await _member(actor, "member.removed", member, _via(data, via))


async def member_left(actor: Actor, member: Member, assignments_dropped: int) -> AuditEvent:
    data = {"role": member.role, "assignmentsDropped": assignments_dropped}
    return await _member(actor, "member.left", member, data)


async def member_password_reset_sent(actor: Actor, member: Member) -> AuditEvent:
    return await _member(actor, "member.password_reset_sent", member)


# Invitations -----------------------------------------------------------------------------


async def _invitation(
    actor: Actor, action: str, invitation: Invitation, data: dict[str, Any]
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=invitation.organization_id,
        target_type="Invitation",
        target_id=invitation.id,
        data=data,
    )


def _projects(specs: Sequence[AssignmentSpec]) -> list[dict[str, Any]]:
    return [
        {"projectId": _gid("Project", s.project_id), "role": ProjectRole(s.role).value}
        for s in specs
    ]


async def invitation_created(
    actor: Actor, invitation: Invitation, projects: Sequence[AssignmentSpec]
) -> AuditEvent:
    data: dict[str, Any] = {
        "email": invitation.email,
        "role": OrganizationRole(invitation.role).value,
        "expiresAt": invitation.expires_at.isoformat(),
        "projects": _projects(projects),
    }
    if not invitation.send_email:
        data["sendEmail"] = False
    if invitation.membership_expires_at is not None:
        data["membershipExpiresAt"] = invitation.membership_expires_at.isoformat()
    return await _invitation(actor, "invitation.created", invitation, data)


async def invitation_resent(actor: Actor, invitation: Invitation, was_expired: bool) -> AuditEvent:
    data = {"sendCount": invitation.send_count, "wasExpired": was_expired}
    return await _invitation(actor, "invitation.resent", invitation, data)


async def invitation_extended(actor: Actor, invitation: Invitation, before: datetime) -> AuditEvent:
    data = {"before": before.isoformat(), "after": invitation.expires_at.isoformat()}
    return await _invitation(actor, "invitation.extended", invitation, data)


async def invitation_updated(
    actor: Actor,
    invitation: Invitation,
    *,
    role_before: OrganizationRole | str | None,
    projects: Sequence[AssignmentSpec] | None,
) -> AuditEvent:
    """What changed: the role (when `role_before` is given) and/or the project
    assignments (when `projects` is given, the new list)."""
    data: dict[str, Any] = {}
    if role_before is not None:
        data["role"] = {"before": role_before, "after": OrganizationRole(invitation.role).value}
    if projects is not None:
        data["projects"] = _projects(projects)
    return await _invitation(actor, "invitation.updated", invitation, data)


async def invitation_revoked(actor: Actor, invitation: Invitation) -> AuditEvent:
    return await _invitation(actor, "invitation.revoked", invitation, {"email": invitation.email})


async def invitation_deleted(
    actor: Actor, invitation: Invitation, status: InvitationStatus
) -> AuditEvent:
    data = {"email": invitation.email, "status": status.value}
    return await _invitation(actor, "invitation.deleted", invitation, data)


async def invitation_accepted(actor: Actor, invitation: Invitation, member: Member) -> AuditEvent:
    data = {"email": invitation.email, "memberId": _gid("Member", member.id)}
    return await _invitation(actor, "invitation.accepted", invitation, data)


async def invitation_declined(actor: Actor, invitation: Invitation) -> AuditEvent:
    return await _invitation(actor, "invitation.declined", invitation, {"email": invitation.email})


# Projects --------------------------------------------------------------------------------


async def _project(actor: Actor, action: str, project: Project, data: dict[str, Any]) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=project.organization_id,
        target_type="Project",
        target_id=project.id,
        data=data,
    )


def _camel(values: dict[str, Any]) -> dict[str, Any]:
    return {"isDefault" if k == "is_default" else k: v for k, v in values.items()}


async def project_created(actor: Actor, project: Project) -> AuditEvent:
    data = {"name": project.name, "slug": project.slug, "isDefault": project.is_default}
    return await _project(actor, "project.created", project, data)


async def project_updated(
    actor: Actor, project: Project, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    """`before` and `after` hold the changed fields among name, slug, is_default."""
    data = {"before": _camel(before), "after": _camel(after)}
    return await _project(actor, "project.updated", project, data)


async def project_deleted(actor: Actor, project: Project, assignments_dropped: int) -> AuditEvent:
    data = {"name": project.name, "slug": project.slug, "assignmentsDropped": assignments_dropped}
    return await _project(actor, "project.deleted", project, data)


async def _assignment(
    actor: Actor,
    action: str,
    project: Project,
    assignment: ProjectAssignment,
    before: str | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    data: dict[str, Any] = {
        "projectId": _gid("Project", project.id),
        "memberId": _gid("Member", assignment.member_id),
        "role": ProjectRole(assignment.role).value,
    }
    if before is not None:
        data["before"] = before
    if assignment.expires_at is not None:  # temporary access: when it ends
        data["expiresAt"] = assignment.expires_at.isoformat()
    data.update(extra or {})
    return await record(
        actor,
        action,
        organization_id=project.organization_id,
        target_type="ProjectAssignment",
        target_id=assignment.id,
        data=data,
    )


async def project_assignment_set(
    actor: Actor, project: Project, assignment: ProjectAssignment
) -> AuditEvent:
    return await _assignment(actor, "project.assignment_set", project, assignment)


async def project_assignment_changed(
    actor: Actor, project: Project, assignment: ProjectAssignment, before: str
) -> AuditEvent:
    return await _assignment(actor, "project.assignment_changed", project, assignment, before)


async def project_assignment_removed(
    actor: Actor, project: Project, assignment: ProjectAssignment
) -> AuditEvent:
    return await _assignment(actor, "project.assignment_removed", project, assignment)


# Ownership -------------------------------------------------------------------------------


async def _transfer(
    actor: Actor, action: str, transfer: OwnershipTransfer, data: dict[str, Any]
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=transfer.organization_id,
        target_type="OwnershipTransfer",
        target_id=transfer.id,
        data={
            "fromMemberId": _gid("Member", transfer.from_member_id),
            "toMemberId": _gid("Member", transfer.to_member_id),
            **data,
        },
    )


async def ownership_transfer_requested(
    actor: Actor, transfer: OwnershipTransfer, replaced: OwnershipTransfer | None
) -> AuditEvent:
    data = {
        "expiresAt": transfer.expires_at.isoformat(),
        "replacedTransferId": _gid("OwnershipTransfer", replaced.id if replaced else None),
    }
    return await _transfer(actor, "ownership.transfer_requested", transfer, data)


async def ownership_transfer_confirmed(
    actor: Actor, transfer: OwnershipTransfer, to_role_before: str
) -> AuditEvent:
    data = {"toRoleBefore": to_role_before}
    return await _transfer(actor, "ownership.transfer_confirmed", transfer, data)


async def ownership_transfer_cancelled(actor: Actor, transfer: OwnershipTransfer) -> AuditEvent:
    return await _transfer(actor, "ownership.transfer_cancelled", transfer, {})


# Domains ---------------------------------------------------------------------------------


async def _domain(actor: Actor, action: str, domain: Domain, data: dict[str, Any]) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=domain.organization_id,
        target_type="Domain",
        target_id=domain.id,
        data={"domain": domain.domain, **data},
    )


async def domain_added(actor: Actor, domain: Domain) -> AuditEvent:
    data = {
        "verificationEmail": domain.verification_email,
        "autoJoin": domain.auto_join,
        "autoJoinRole": domain.auto_join_role,
        "joinPolicy": domain.join_policy,
    }
    return await _domain(actor, "domain.added", domain, data)


async def domain_verified(actor: Actor, domain: Domain) -> AuditEvent:
    return await _domain(actor, "domain.verified", domain, {})


async def domain_removed(actor: Actor, domain: Domain) -> AuditEvent:
    return await _domain(actor, "domain.removed", domain, {"verified": domain.verified})


# API keys --------------------------------------------------------------------------------


async def _api_key(actor: Actor, action: str, key: ApiKey, data: dict[str, Any]) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=key.organization_id,
        target_type="ApiKey",
        target_id=key.id,
        data={"name": key.name, **data},
    )


async def api_key_created(actor: Actor, key: ApiKey) -> AuditEvent:
    data = {
        "role": key.role,
        "prefix": key.prefix,
        "expiresAt": key.expires_at.isoformat() if key.expires_at else None,
    }
    return await _api_key(actor, "api_key.created", key, data)


async def api_key_revoked(actor: Actor, key: ApiKey) -> AuditEvent:
    return await _api_key(actor, "api_key.revoked", key, {"prefix": key.prefix})


# Teams -----------------------------------------------------------------------------------


async def _team(
    actor: Actor, action: str, team: Team, data: dict[str, Any], via: str | None
) -> AuditEvent:
    if via is not None:
        data = {**data, "via": via}
    return await record(
        actor,
        action,
        organization_id=team.organization_id,
        target_type="Team",
        target_id=team.id,
        data={"name": team.name, **data},
    )


async def team_created(actor: Actor, team: Team, *, via: str | None = None) -> AuditEvent:
    data = {"slug": team.slug, "description": team.description, "managedBy": team.managed_by}
    return await _team(actor, "team.created", team, data, via)


async def team_updated(
    actor: Actor,
    team: Team,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    via: str | None = None,
) -> AuditEvent:
    return await _team(actor, "team.updated", team, {"before": before, "after": after}, via)


async def team_deleted(
    actor: Actor, team: Team, members_dropped: int, *, via: str | None = None
) -> AuditEvent:
    data = {"slug": team.slug, "membersDropped": members_dropped}
    return await _team(actor, "team.deleted", team, data, via)


async def team_members_added(
    actor: Actor, team: Team, member_ids: Sequence[int], *, via: str | None = None
) -> AuditEvent:
    data = {"memberIds": [_gid("Member", pk) for pk in member_ids]}
    return await _team(actor, "team.members_added", team, data, via)


async def team_members_removed(
    actor: Actor, team: Team, member_ids: Sequence[int], *, via: str | None = None
) -> AuditEvent:
    data = {"memberIds": [_gid("Member", pk) for pk in member_ids]}
    return await _team(actor, "team.members_removed", team, data, via)


def _team_roles(roles: dict[int, ProjectRole]) -> list[dict[str, Any]]:
    return [
        {"projectId": _gid("Project", project_id), "role": ProjectRole(role).value}
        for project_id, role in sorted(roles.items())
    ]


async def team_project_roles_set(
    actor: Actor,
    team: Team,
    before: dict[int, ProjectRole],
    after: dict[int, ProjectRole],
    *,
    via: str | None = None,
) -> AuditEvent:
    data = {"before": _team_roles(before), "after": _team_roles(after)}
    return await _team(actor, "team.project_roles_set", team, data, via)


# SCIM connections ------------------------------------------------------------------------


async def _scim_connection(
    actor: Actor, action: str, connection: ScimConnection, data: dict[str, Any]
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=connection.organization_id,
        target_type="ScimConnection",
        target_id=connection.id,
        data=data,
    )


async def scim_connection_created(actor: Actor, connection: ScimConnection) -> AuditEvent:
    data = {
        "name": connection.name,
        "defaultRole": OrganizationRole(connection.default_role).value,
        "roleMappings": connection.role_mappings,
    }
    return await _scim_connection(actor, "scim_connection.created", connection, data)


async def scim_connection_updated(
    actor: Actor, connection: ScimConnection, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    data = {"before": before, "after": after}
    return await _scim_connection(actor, "scim_connection.updated", connection, data)


async def scim_connection_revoked(actor: Actor, connection: ScimConnection) -> AuditEvent:
    data = {"name": connection.name}
    return await _scim_connection(actor, "scim_connection.revoked", connection, data)


# Temporary access ------------------------------------------------------------------------


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def member_expiry_set(actor: Actor, member: Member, before: datetime | None) -> AuditEvent:
    """`member.expiry_set`: `setMemberExpiry` set, moved or cleared (null) the end date."""
    data = {"before": _instant(before), "after": _instant(member.expires_at)}
    return await _member(actor, "member.expiry_set", member, data)


async def member_role_changed_until(
    actor: Actor,
    member: Member,
    before: OrganizationRole | str,
    cleared_until: datetime | None,
    *,
    via: str | None = None,
) -> AuditEvent:
    """`member.role_changed` with its time limit: `until` and `revertsTo` for a temporary
    role (null for a lasting one); `clearedUntil` when it ended a pending revert."""
    data = {
        "before": OrganizationRole(before).value,
        "after": OrganizationRole(member.role).value,
        "until": _instant(member.role_expires_at),
        "revertsTo": OrganizationRole(member.role_reverts_to).value
        if member.role_reverts_to
        else None,
        "clearedUntil": _instant(cleared_until),
    }
    return await _member(actor, "member.role_changed", member, _via(data, via))


async def member_expired(
    actor: Actor, member: Member, assignments_dropped: int, expired_at: datetime | None
) -> AuditEvent:
    """`member.expired`: REMOVED at their `expiresAt` (written by the expiry sweep)."""
    data = {
        "role": OrganizationRole(member.role).value,
        "assignmentsDropped": assignments_dropped,
        "expiresAt": _instant(expired_at),
    }
    return await _member(actor, "member.expired", member, data)


async def member_role_reverted(
    actor: Actor, member: Member, before: OrganizationRole | str, until: datetime
) -> AuditEvent:
    """`member.role_reverted`: a temporary role ended at `until`."""
    data = {
        "before": OrganizationRole(before).value,
        "after": OrganizationRole(member.role).value,
        "until": _instant(until),
    }
    return await _member(actor, "member.role_reverted", member, data)


async def member_role_revert_refused(
    actor: Actor,
    member: Member,
    reverts_to: OrganizationRole | str,
    until: datetime,
    reason: ErrorCode,
) -> AuditEvent:
    """`member.role_revert_refused`: the guardrail kept the temporary role (for good)."""
    data = {
        "role": OrganizationRole(member.role).value,
        "revertsTo": OrganizationRole(reverts_to).value,
        "until": _instant(until),
        "reason": reason.value,
    }
    return await _member(actor, "member.role_revert_refused", member, data)


async def project_assignment_expiry_set(
    actor: Actor, project: Project, assignment: ProjectAssignment, before: datetime | None
) -> AuditEvent:
    """`project.assignment_expiry_set`: an assignment's end date set, moved or cleared."""
    extra = {"expiresAtBefore": _instant(before), "expiresAt": _instant(assignment.expires_at)}
    return await _assignment(
        actor, "project.assignment_expiry_set", project, assignment, extra=extra
    )


async def project_assignment_expired(
    actor: Actor, project: Project, assignment: ProjectAssignment
) -> AuditEvent:
    """`project.assignment_expired`: deleted at its `expiresAt` (the expiry sweep)."""
    return await _assignment(actor, "project.assignment_expired", project, assignment)


# Join policy and join requests ------------------------------------------------------------


async def domain_updated(
    actor: Actor, domain: Domain, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    """`before` and `after` hold the changed settings among joinPolicy, autoJoinRole."""
    return await _domain(actor, "domain.updated", domain, {"before": before, "after": after})


async def _join_request(
    actor: Actor, action: str, request: JoinRequest, user: User, data: dict[str, Any]
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=request.organization_id,
        target_type="JoinRequest",
        target_id=request.id,
        data={"userId": _gid("User", user.id), "email": user.email, **data},
    )


async def join_request_created(actor: Actor, request: JoinRequest, user: User) -> AuditEvent:
    data = {"expiresAt": request.expires_at.isoformat()}
    return await _join_request(actor, "join_request.created", request, user, data)


async def join_request_approved(
    actor: Actor, request: JoinRequest, user: User, member: Member
) -> AuditEvent:
    data = {"role": OrganizationRole(member.role).value, "memberId": _gid("Member", member.id)}
    return await _join_request(actor, "join_request.approved", request, user, data)


async def join_request_denied(actor: Actor, request: JoinRequest, user: User) -> AuditEvent:
    return await _join_request(actor, "join_request.denied", request, user, {})


async def join_request_withdrawn(actor: Actor, request: JoinRequest, user: User) -> AuditEvent:
    return await _join_request(actor, "join_request.withdrawn", request, user, {})


async def member_joined_by_request(
    actor: Actor, member: Member, request: JoinRequest
) -> AuditEvent:
    """`member.joined` by an approved join request."""
    data = {
        "role": OrganizationRole(member.role).value,
        "via": "join_request",
        "joinRequestId": _gid("JoinRequest", request.id),
    }
    return await _member(actor, "member.joined", member, data)


# Webhook endpoints -----------------------------------------------------------------------


async def _webhook_endpoint(
    actor: Actor, action: str, endpoint: WebhookEndpoint, data: dict[str, Any]
) -> AuditEvent:
    return await record(
        actor,
        action,
        organization_id=endpoint.organization_id,
        target_type="WebhookEndpoint",
        target_id=endpoint.id,
        data=data,
    )


async def webhook_endpoint_created(actor: Actor, endpoint: WebhookEndpoint) -> AuditEvent:
    data = {
        "url": endpoint.url,
        "description": endpoint.description,
        "eventTypes": list(endpoint.event_types),
    }
    return await _webhook_endpoint(actor, "webhook_endpoint.created", endpoint, data)


async def webhook_endpoint_updated(
    actor: Actor, endpoint: WebhookEndpoint, before: dict[str, Any], after: dict[str, Any]
) -> AuditEvent:
    data = {"before": before, "after": after}
    return await _webhook_endpoint(actor, "webhook_endpoint.updated", endpoint, data)


async def webhook_endpoint_secret_rotated(actor: Actor, endpoint: WebhookEndpoint) -> AuditEvent:
    expires = endpoint.previous_secret_expires_at
    data = {"previousSecretExpiresAt": expires.isoformat() if expires else None}
    return await _webhook_endpoint(actor, "webhook_endpoint.secret_rotated", endpoint, data)


async def webhook_endpoint_deleted(actor: Actor, endpoint: WebhookEndpoint) -> AuditEvent:
    return await _webhook_endpoint(
        actor, "webhook_endpoint.deleted", endpoint, {"url": endpoint.url}
    )


async def webhook_endpoint_disabled(
    actor: Actor, endpoint: WebhookEndpoint, reason: str
) -> AuditEvent:
    return await _webhook_endpoint(actor, "webhook_endpoint.disabled", endpoint, {"reason": reason})
