"""The fast factories (tests/support/factories.py) write what the services write.

Most tests build their people and organizations through the factories, not through
signUp, createOrganization and an accepted invitation; these tests keep the two in step,
so that a change to what a service writes (another row, another field) shows up here."""

from __future__ import annotations

from app.auth.tokens import SESSION_PREFIX, hash_token
from app.auth.viewer import authenticate
from app.models import AuditEvent, Member, Organization, Session, User
from app.models.enums import MemberStatus, OrganizationRole
from app.services import accounts, invitations, organizations
from tests.support import factories
from tests.support.services import all_rows

MEMBER_FIELDS = (
    "role",
    "role_rank",
    "status",
    "username",
    "title",
    "blocked_at",
    "removed_at",
    "invited_by_id",
)


async def written(call) -> tuple[object, dict[str, int]]:
    """What `call` returns, and how many rows it added to each table."""
    before = {table: len(rows) for table, rows in (await all_rows()).items()}
    result = await call
    after = {table: len(rows) for table, rows in (await all_rows()).items()}
    return result, {t: after[t] - before[t] for t in after if after[t] != before[t]}


def fields(row, names) -> dict[str, object]:
    return {name: getattr(row, name) for name in names}


async def test_make_organization_writes_what_create_organization_writes(db):
    by_service, by_factory = await factories.make_user(), await factories.make_user()
    service_org, service_rows = await written(
        organizations.create_organization(by_service, "Acme Corp", None, factories.CLIENT_IP)
    )
    (factory_org, factory_owner), factory_rows = await written(
        factories.make_organization(by_factory, "Acme Corp")
    )
    assert factory_rows == service_rows == {"organizations": 1, "members": 1, "audit_events": 1}

    organization_fields = ("name", "invitation_ttl_days", "allowed_email_domains", "seat_limit")
    stored = await Organization.get(id=factory_org.id)
    assert fields(stored, organization_fields) == fields(service_org, organization_fields)
    assert service_org.slug == "acme-corp"
    assert stored.slug.startswith("acme-corp-")  # the second "Acme Corp" gets a suffix

    service_owner = await Member.get(organization_id=service_org.id)
    factory_owner = await Member.get(id=factory_owner.id)
    assert fields(factory_owner, MEMBER_FIELDS) == fields(service_owner, MEMBER_FIELDS)
    assert factory_owner.role == OrganizationRole.OWNER
    assert (factory_owner.name, factory_owner.email) == (by_factory.name, by_factory.email)

    event_fields = ("action", "actor_api_key_id", "target_type", "ip")
    service_event = await AuditEvent.get(organization_id=service_org.id)
    factory_event = await AuditEvent.get(organization_id=factory_org.id)
    assert fields(factory_event, event_fields) == fields(service_event, event_fields)
    assert service_event.data == {"name": "Acme Corp", "slug": service_org.slug}
    assert factory_event.data == {"name": "Acme Corp", "slug": stored.slug}
    assert (factory_event.actor_user_id, factory_event.target_id) == (by_factory.id, stored.id)


async def test_make_member_is_a_member_as_an_accepted_invitation_leaves_it(db):
    owner = await factories.make_user(name="Olive Owner")
    organization, owner_member = await factories.make_organization(owner)
    actor = await factories.actor_for(owner_member)
    invitee = await factories.make_user(name="Ivy Invitee")
    request = invitations.InviteRequest(email=invitee.email, role=OrganizationRole.ADMIN)
    invitation = await invitations.invite(actor, organization.id, request)
    accepted = await invitations.accept(invitation.id, invitee, None)

    made = await factories.make_member(organization, role=OrganizationRole.ADMIN, name="Mo")
    accepted, made = await Member.get(id=accepted.id), await Member.get(id=made.id)
    assert fields(made, MEMBER_FIELDS) == fields(accepted, MEMBER_FIELDS)
    assert made.invited_by_id == owner_member.id
    assert (made.status, made.role) == (MemberStatus.ACTIVE, OrganizationRole.ADMIN)
    user = await User.get(id=made.user_id)
    assert (made.name, made.email) == (user.name, user.email) == ("Mo", user.email)
    assert made.joined_at is not None


async def test_made_users_log_in_verified_and_their_sessions_authenticate(db):
    user = await factories.make_user("Ada@Example.com", "Ada Lovelace")
    assert (user.email, user.email_verified) == ("ada@example.com", True)
    assert not (await factories.make_user(verified=False)).email_verified
    # One password hash for every made user, and it is PASSWORD's.
    signed_in = await accounts.log_in("ada@example.com", factories.PASSWORD)
    assert signed_in.user.id == user.id

    token = await factories.make_session(user)
    assert token.startswith(SESSION_PREFIX)
    by_service = await accounts.create_session(user)
    rows = await Session.filter(user_id=user.id).order_by("id")
    assert len(rows) == 3  # log_in's, the factory's, create_session's
    for session, secret in zip(rows[1:], (token, by_service), strict=True):
        assert session.token_hash == hash_token(secret)  # only the hash is stored
        assert session.last_used_at is not None
    viewer = await authenticate(f"Bearer {token}")
    assert viewer.user is not None and viewer.user.id == user.id
