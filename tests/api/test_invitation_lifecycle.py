"""After the invitation: resend, revoke, delete, extend, update, accept, decline, signUp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.ids import pk_of, to_global_id
from app.models import Project
from tests.support.api import (
    LOG_IN,
    PASSWORD,
    add_member,
    create_org,
    gql,
    mutate,
    ok,
    refused,
    sign_up,
    sign_up_by_api,
    top_codes,
    unique_email,
)
from tests.support.invitations import (
    ACCEPT,
    DECLINE,
    DELETE,
    EXTEND,
    INVITATIONS,
    PREVIEW,
    RESEND,
    REVOKE,
    SIGN_UP_INVITED,
    UPDATE,
    expire,
    invitation,
    invite,
    org_state,
    parse_time,
    token_for,
)

MEMBERS = """
query($id: ID!) {
  organization(id: $id) {
    members(first: 100) {
      nodes { id email role status username projectAssignments { role project { name } } }
    }
  }
}"""
ME = "{ me { email emailVerified memberships { role organization { id } } } }"


def close_to(value: str, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    return abs(parse_time(value) - expected) < slack


async def project(org, name: str, is_default: bool = False) -> str:
    """A project to assign (set up directly: projects are another domain's API)."""
    row = await Project.create(
        organization_id=pk_of(org.id, "Organization"),
        name=name,
        slug=name.lower(),
        is_default=is_default,
    )
    return to_global_id("Project", row.id)


async def invited(client, mailbox, org, **fields):
    """An invitation and the token mailed for it."""
    email = fields.pop("email", None) or unique_email("invitee")
    created = await invite(client, org, email, **fields)
    return created, await token_for(mailbox, email)


async def accepted(client, mailbox, org):
    person = await sign_up_by_api(client)
    created = await invite(client, org, person.email)
    token = await token_for(mailbox, person.email, count=2)
    await mutate(client, ACCEPT, {"token": token}, person.token)
    return created, token


async def revoked(client, mailbox, org):
    created, token = await invited(client, mailbox, org)
    await mutate(client, REVOKE, {"id": created["id"]}, org.owner.token)
    return created, token


async def declined(client, mailbox, org):
    created, token = await invited(client, mailbox, org)
    await mutate(client, DECLINE, {"token": token})
    return created, token


ENDED = {"accepted": accepted, "revoked": revoked, "declined": declined}


# --- resend -----------------------------------------------------------------------------------


async def test_resend_issues_a_fresh_token_and_kills_the_old_link(client, mailbox):
    org = await create_org(client)
    person = await sign_up_by_api(client)
    created = await invite(client, org, person.email)
    old = await token_for(mailbox, person.email, count=2)
    payload = await mutate(client, RESEND, {"id": created["id"]}, org.owner.token)
    assert payload["invitation"]["sendCount"] == 2
    assert payload["invitation"]["expiresAt"] == created["expiresAt"]
    new = await token_for(mailbox, person.email, count=3)
    assert new != old
    assert (await ok(client, PREVIEW, {"token": old}))["invitationByToken"] is None
    assert (await ok(client, PREVIEW, {"token": new}))["invitationByToken"]["status"] == "PENDING"
    assert await refused(client, ACCEPT, {"token": old}, person.token) == ["INVALID_TOKEN"]
    member = (await mutate(client, ACCEPT, {"token": new}, person.token))["member"]
    assert member["status"] == "ACTIVE"


async def test_resend_of_an_expired_invitation_gives_a_fresh_lifetime(client, mailbox):
    org = await create_org(client)
    created, old = await invited(client, mailbox, org, expiresInDays=2)
    await expire(created["id"])
    assert (await invitation(client, org, created["id"]))["status"] == "EXPIRED"
    payload = await mutate(client, RESEND, {"id": created["id"]}, org.owner.token)
    fresh = payload["invitation"]
    assert fresh["status"] == "PENDING"
    assert fresh["sendCount"] == 2
    # The organization's lifetime (7 days by default).
    assert close_to(fresh["expiresAt"], datetime.now(UTC) + timedelta(days=7))
    new = await token_for(mailbox, created["email"], count=2)
    assert (await ok(client, PREVIEW, {"token": new}))["invitationByToken"]["status"] == "PENDING"
    assert (await ok(client, PREVIEW, {"token": old}))["invitationByToken"] is None


async def test_resend_of_an_expired_invitation_when_the_email_was_invited_again(client, mailbox):
    org = await create_org(client)
    created, _ = await invited(client, mailbox, org)
    await expire(created["id"])
    await invite(client, org, created["email"])
    before = await org_state(client, org)
    assert await refused(client, RESEND, {"id": created["id"]}, org.owner.token) == [
        "ALREADY_INVITED"
    ]
    assert await org_state(client, org) == before


async def test_reopening_an_expired_invitation_checks_it_like_a_new_one(client, mailbox):
    """Resend and extend of an expired invitation re-check the address's domain and username."""
    from tests.support.invitations import set_org

    org = await create_org(client)
    created, _ = await invited(client, mailbox, org, username="vic")
    await expire(created["id"])
    await invite(client, org, unique_email(), username="vic")
    before = await org_state(client, org)
    assert await refused(client, RESEND, {"id": created["id"]}, org.owner.token) == [
        "USERNAME_TAKEN"
    ]
    assert await org_state(client, org) == before
    await set_org(client, org, allowedEmailDomains=["elsewhere.org"])
    before = await org_state(client, org)
    for query, variables in [
        (RESEND, {"id": created["id"]}),
        (EXTEND, {"id": created["id"], "days": 3}),
    ]:
        assert await refused(client, query, variables, org.owner.token) == ["DOMAIN_NOT_ALLOWED"]
    assert await org_state(client, org) == before
    assert (await invitation(client, org, created["id"]))["status"] == "EXPIRED"


@pytest.mark.parametrize("ended", ["accepted", "revoked", "declined"])
@pytest.mark.parametrize("operation", ["resend", "revoke", "update", "extend"])
async def test_ended_invitations_cannot_be_resent_revoked_or_edited(
    client, mailbox, ended, operation
):
    org = await create_org(client)
    created, _ = await ENDED[ended](client, mailbox, org)
    query, variables = {
        "resend": (RESEND, {"id": created["id"]}),
        "revoke": (REVOKE, {"id": created["id"]}),
        "update": (UPDATE, {"input": {"invitationId": created["id"], "role": "VIEWER"}}),
        "extend": (EXTEND, {"id": created["id"], "days": 3}),
    }[operation]
    current = await invitation(client, org, created["id"])
    before = await org_state(client, org)
    assert await refused(client, query, variables, org.owner.token) == ["INVITATION_NOT_PENDING"]
    assert await org_state(client, org) == before
    assert await invitation(client, org, created["id"]) == current


async def test_lifecycle_mutations_need_admin_and_visibility(client, mailbox):
    org = await create_org(client)
    created, _ = await invited(client, mailbox, org)
    user, _ = await add_member(client, mailbox, org, role="USER")
    stranger = await sign_up(client)
    before = await org_state(client, org)
    for query, variables in [
        (RESEND, {"id": created["id"]}),
        (REVOKE, {"id": created["id"]}),
        (DELETE, {"id": created["id"]}),
        (EXTEND, {"id": created["id"], "days": 2}),
        (UPDATE, {"input": {"invitationId": created["id"], "role": "VIEWER"}}),
    ]:
        assert top_codes(await gql(client, query, variables, user.token)) == ["FORBIDDEN"]
        assert top_codes(await gql(client, query, variables)) == ["UNAUTHENTICATED"]
        assert await refused(client, query, variables, stranger.token) == ["NOT_FOUND"]
    unknown = to_global_id("Invitation", 999_999)
    assert await refused(client, RESEND, {"id": unknown}, org.owner.token) == ["NOT_FOUND"]
    assert await refused(client, REVOKE, {"id": "garbage"}, org.owner.token) == ["NOT_FOUND"]
    assert await org_state(client, org) == before


async def test_admin_cannot_touch_an_admin_invitation(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN")
    created, _ = await invited(client, mailbox, org, role="ADMIN")
    before = await org_state(client, org)
    for query, variables in [
        (RESEND, {"id": created["id"]}),
        (REVOKE, {"id": created["id"]}),
        (EXTEND, {"id": created["id"], "days": 2}),
        (UPDATE, {"input": {"invitationId": created["id"], "role": "VIEWER"}}),
    ]:
        assert await refused(client, query, variables, admin.token) == ["FORBIDDEN_ROLE"]
    assert await org_state(client, org) == before
    await mutate(client, REVOKE, {"id": created["id"]}, org.owner.token)
    before = await org_state(client, org)
    codes = await refused(client, DELETE, {"id": created["id"]}, admin.token)
    assert codes == ["FORBIDDEN_ROLE"]
    assert await org_state(client, org) == before


# --- revoke and delete ------------------------------------------------------------------------


async def test_revoke_kills_the_token(client, mailbox):
    org = await create_org(client)
    person = await sign_up_by_api(client)
    created = await invite(client, org, person.email)
    token = await token_for(mailbox, person.email, count=2)
    payload = await mutate(client, REVOKE, {"id": created["id"]}, org.owner.token)
    assert payload["invitation"]["status"] == "REVOKED"
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"] is None
    assert await refused(client, ACCEPT, {"token": token}, person.token) == ["INVALID_TOKEN"]
    assert await refused(client, DECLINE, {"token": token}) == ["INVALID_TOKEN"]
    data = await ok(client, "query { me { memberships { id } } }", token=person.token)
    assert data["me"]["memberships"] == []


async def test_revoke_writes_an_audit_event(client, mailbox):
    org = await create_org(client)
    created, _ = await invited(client, mailbox, org)
    before = await org_state(client, org)
    await mutate(client, REVOKE, {"id": created["id"]}, org.owner.token)
    assert (await org_state(client, org))["audit"] == before["audit"] + 1


@pytest.mark.parametrize("ended", ["revoked", "declined", "expired"])
async def test_ended_invitations_can_be_deleted(client, mailbox, ended):
    org = await create_org(client)
    if ended == "expired":
        created, _ = await invited(client, mailbox, org)
        await expire(created["id"])
    else:
        created, _ = await ENDED[ended](client, mailbox, org)
    before = await org_state(client, org)
    assert (await mutate(client, DELETE, {"id": created["id"]}, org.owner.token))["ok"] is True
    after = await org_state(client, org)
    assert after["invitations"] == before["invitations"] - 1
    assert after["audit"] == before["audit"] + 1
    assert await invitation(client, org, created["id"]) is None
    assert await refused(client, DELETE, {"id": created["id"]}, org.owner.token) == ["NOT_FOUND"]


@pytest.mark.parametrize("state", ["pending", "accepted"])
async def test_pending_and_accepted_invitations_cannot_be_deleted(client, mailbox, state):
    org = await create_org(client)
    if state == "pending":
        created, _ = await invited(client, mailbox, org)
    else:
        created, _ = await accepted(client, mailbox, org)
    before = await org_state(client, org)
    codes = await refused(client, DELETE, {"id": created["id"]}, org.owner.token)
    assert codes == ["INVITATION_NOT_DELETABLE"]
    assert await org_state(client, org) == before


# --- extend -----------------------------------------------------------------------------------


async def test_extend_adds_days_to_the_current_expiry(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org, expiresInDays=5)
    payload = await mutate(client, EXTEND, {"id": created["id"], "days": 3}, org.owner.token)
    expected = parse_time(created["expiresAt"]) + timedelta(days=3)
    assert parse_time(payload["invitation"]["expiresAt"]) == expected
    # The link still works: extending does not resend.
    assert payload["invitation"]["sendCount"] == 1
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"]["status"] == "PENDING"


async def test_extend_of_an_expired_invitation_counts_from_now(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    await expire(created["id"])
    payload = await mutate(client, EXTEND, {"id": created["id"], "days": 2}, org.owner.token)
    assert payload["invitation"]["status"] == "PENDING"
    assert close_to(payload["invitation"]["expiresAt"], datetime.now(UTC) + timedelta(days=2))
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"]["status"] == "PENDING"


async def test_extend_of_an_invitation_marked_expired_by_a_later_invite(client, mailbox):
    """Inviting the same email again stores EXPIRED on the old row; it reads the same."""
    org = await create_org(client)
    created, _ = await invited(client, mailbox, org)
    await expire(created["id"])
    newer = await invite(client, org, created["email"])
    assert await refused(client, EXTEND, {"id": created["id"], "days": 2}, org.owner.token) == [
        "ALREADY_INVITED"
    ]
    await mutate(client, REVOKE, {"id": newer["id"]}, org.owner.token)
    payload = await mutate(client, EXTEND, {"id": created["id"], "days": 2}, org.owner.token)
    assert payload["invitation"]["status"] == "PENDING"


@pytest.mark.parametrize("days", [0, 31, -5])
async def test_extend_days_out_of_range_is_invalid_input(client, mailbox, days):
    org = await create_org(client)
    created, _ = await invited(client, mailbox, org)
    before = await org_state(client, org)
    body = await ok(client, EXTEND, {"id": created["id"], "days": days}, org.owner.token)
    errors = body["extendInvitation"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", ["days"])]
    assert await org_state(client, org) == before
    assert (await invitation(client, org, created["id"]))["expiresAt"] == created["expiresAt"]


# --- update -----------------------------------------------------------------------------------


async def test_update_changes_role_and_project_assignments(client, mailbox):
    org = await create_org(client)
    alpha = await project(org, "Alpha")
    beta = await project(org, "Beta")
    created, _ = await invited(
        client, mailbox, org, projectAssignments=[{"projectId": alpha, "role": "USE"}]
    )
    assert [(a["project"]["name"], a["role"]) for a in created["projectAssignments"]] == [
        ("Alpha", "USE")
    ]
    before = await org_state(client, org)
    payload = await mutate(
        client,
        UPDATE,
        {
            "input": {
                "invitationId": created["id"],
                "role": "ADMIN",
                "projectAssignments": [{"projectId": beta, "role": "ADMIN"}],
            }
        },
        org.owner.token,
    )
    updated = payload["invitation"]
    assert updated["role"] == "ADMIN"
    assert [(a["project"]["name"], a["role"]) for a in updated["projectAssignments"]] == [
        ("Beta", "ADMIN")
    ]
    assert (await org_state(client, org))["audit"] == before["audit"] + 1
    # Omitting projectAssignments keeps them; an empty list clears them.
    payload = await mutate(
        client, UPDATE, {"input": {"invitationId": created["id"], "role": "USER"}}, org.owner.token
    )
    assert len(payload["invitation"]["projectAssignments"]) == 1
    payload = await mutate(
        client,
        UPDATE,
        {"input": {"invitationId": created["id"], "projectAssignments": []}},
        org.owner.token,
    )
    assert payload["invitation"]["projectAssignments"] == []


async def test_update_refusals(client, mailbox):
    org = await create_org(client)
    admin, _ = await add_member(client, mailbox, org, role="ADMIN")
    created, _ = await invited(client, mailbox, org)
    before = await org_state(client, org)

    async def codes(token, **changes):
        variables = {"input": {"invitationId": created["id"], **changes}}
        return await refused(client, UPDATE, variables, token)

    assert await codes(org.owner.token, role="OWNER") == ["ROLE_NOT_ALLOWED"]
    assert await codes(admin.token, role="ADMIN") == ["FORBIDDEN_ROLE"]
    unknown = to_global_id("Project", 999_999)
    assert await codes(
        org.owner.token, projectAssignments=[{"projectId": unknown, "role": "USE"}]
    ) == ["NOT_FOUND"]
    assert await org_state(client, org) == before
    await expire(created["id"])
    assert await codes(org.owner.token, role="VIEWER") == ["INVITATION_NOT_PENDING"]
    assert await org_state(client, org) == before


# --- accept -----------------------------------------------------------------------------------


async def test_accept_applies_role_username_and_project_assignments(client, mailbox):
    org = await create_org(client)
    alpha = await project(org, "Alpha")
    person = await sign_up_by_api(client, name="Ivy Invitee")
    created = await invite(
        client,
        org,
        person.email,
        role="VIEWER",
        username="ivy",
        projectAssignments=[{"projectId": alpha, "role": "VIEWER"}],
    )
    token = await token_for(mailbox, person.email, count=2)
    before = await org_state(client, org)
    member = (await mutate(client, ACCEPT, {"token": token}, person.token))["member"]
    assert member["role"] == "VIEWER"
    assert member["status"] == "ACTIVE"
    assert member["username"] == "ivy"
    assert member["email"] == person.email
    after = await invitation(client, org, created["id"])
    assert after["status"] == "ACCEPTED"
    assert after["acceptedAt"] is not None
    assert (await org_state(client, org))["audit"] > before["audit"]
    data = await ok(client, MEMBERS, {"id": org.id}, org.owner.token)
    (joined,) = [m for m in data["organization"]["members"]["nodes"] if m["id"] == member["id"]]
    assert [(a["project"]["name"], a["role"]) for a in joined["projectAssignments"]] == [
        ("Alpha", "VIEWER")
    ]
    me = (await ok(client, ME, token=person.token))["me"]
    assert me["emailVerified"] is True  # holding the mailed token proves the address
    assert me["memberships"] == [{"role": "VIEWER", "organization": {"id": org.id}}]
    # A used token is dead.
    assert await refused(client, ACCEPT, {"token": token}, person.token) == ["INVALID_TOKEN"]
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"] is None


async def test_add_to_default_projects_assigns_them_on_accept(client, mailbox):
    org = await create_org(client)
    await project(org, "Everyone", is_default=True)
    await project(org, "Secret")
    person = await sign_up(client)
    created = await invite(client, org, person.email, addToDefaultProjects=True)
    assert [(a["project"]["name"], a["role"]) for a in created["projectAssignments"]] == [
        ("Everyone", "USE")
    ]


async def test_accept_with_another_email_is_a_mismatch(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    other = await sign_up(client)
    before = await org_state(client, org)
    codes = await refused(client, ACCEPT, {"token": token}, other.token)
    assert codes == ["INVITATION_EMAIL_MISMATCH"]
    assert await org_state(client, org) == before
    assert (await invitation(client, org, created["id"]))["status"] == "PENDING"


async def test_accept_of_an_expired_invitation(client, mailbox):
    org = await create_org(client)
    person = await sign_up_by_api(client)
    created = await invite(client, org, person.email)
    token = await token_for(mailbox, person.email, count=2)
    await expire(created["id"])
    before = await org_state(client, org)
    assert await refused(client, ACCEPT, {"token": token}, person.token) == ["INVITATION_EXPIRED"]
    assert await org_state(client, org) == before
    me = (await ok(client, ME, token=person.token))["me"]
    assert me["memberships"] == []


@pytest.mark.parametrize("token", ["A" * 43, "short", "not base64 !!", ""])
async def test_accept_of_an_unknown_token_is_invalid(client, token):
    person = await sign_up(client)
    assert await refused(client, ACCEPT, {"token": token}, person.token) == ["INVALID_TOKEN"]


async def test_accept_needs_a_signed_in_user(client, mailbox):
    org = await create_org(client)
    _, token = await invited(client, mailbox, org)
    assert top_codes(await gql(client, ACCEPT, {"token": token})) == ["UNAUTHENTICATED"]


# --- decline ----------------------------------------------------------------------------------


async def test_decline_ends_the_invitation_anonymously(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    before = await org_state(client, org)
    assert (await mutate(client, DECLINE, {"token": token}))["ok"] is True
    assert (await invitation(client, org, created["id"]))["status"] == "DECLINED"
    assert (await org_state(client, org))["audit"] == before["audit"] + 1
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"] is None
    assert await refused(client, DECLINE, {"token": token}) == ["INVALID_TOKEN"]
    # Declined: a new invitation to the same address is allowed.
    assert (await invite(client, org, created["email"]))["status"] == "PENDING"


async def test_decline_of_an_expired_invitation(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    await expire(created["id"])
    before = await org_state(client, org)
    assert await refused(client, DECLINE, {"token": token}) == ["INVITATION_EXPIRED"]
    assert await org_state(client, org) == before


# --- signUp(invitationToken:) -----------------------------------------------------------------


async def test_sign_up_with_invitation_token_joins_verified_in_one_step(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org, role="VIEWER")
    payload = await mutate(
        client,
        SIGN_UP_INVITED,
        {
            "input": {
                "email": created["email"].upper(),
                "password": PASSWORD,
                "name": "New Person",
                "invitationToken": token,
            }
        },
    )
    assert payload["user"]["emailVerified"] is True
    assert payload["member"]["role"] == "VIEWER"
    assert payload["member"]["status"] == "ACTIVE"
    assert (await invitation(client, org, created["id"]))["status"] == "ACCEPTED"
    me = (await ok(client, ME, token=payload["token"]))["me"]
    assert me["memberships"] == [{"role": "VIEWER", "organization": {"id": org.id}}]
    # No verification mail: the invitation proved the address.
    assert len(mailbox.to(created["email"])) == 1


async def test_sign_up_with_invitation_token_for_another_email_writes_nothing(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    email = unique_email("other")
    before = await org_state(client, org)
    variables = {
        "input": {"email": email, "password": PASSWORD, "name": "X Y", "invitationToken": token}
    }
    assert await refused(client, SIGN_UP_INVITED, variables) == ["INVITATION_EMAIL_MISMATCH"]
    assert await org_state(client, org) == before
    body = await ok(client, LOG_IN, {"input": {"email": email, "password": PASSWORD}})
    assert [e["code"] for e in body["logIn"]["errors"]] == ["INVALID_CREDENTIALS"]
    assert (await invitation(client, org, created["id"]))["status"] == "PENDING"


@pytest.mark.parametrize("state", ["expired", "revoked"])
async def test_sign_up_with_a_dead_invitation_token(client, mailbox, state):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    if state == "expired":
        await expire(created["id"])
    else:
        await mutate(client, REVOKE, {"id": created["id"]}, org.owner.token)
    variables = {
        "input": {
            "email": created["email"],
            "password": PASSWORD,
            "name": "X Y",
            "invitationToken": token,
        }
    }
    expected = "INVITATION_EXPIRED" if state == "expired" else "INVALID_TOKEN"
    assert await refused(client, SIGN_UP_INVITED, variables) == [expected]


# --- expiry reads everywhere ------------------------------------------------------------------


async def test_a_pending_invitation_past_expiry_reads_expired_everywhere(client, mailbox):
    org = await create_org(client)
    created, token = await invited(client, mailbox, org)
    await expire(created["id"])
    assert (await invitation(client, org, created["id"]))["status"] == "EXPIRED"
    data = await ok(client, INVITATIONS, {"id": org.id}, org.owner.token)
    assert [n["status"] for n in data["organization"]["invitations"]["nodes"]] == ["EXPIRED"]
    data = await ok(client, INVITATIONS, {"id": org.id, "statuses": ["PENDING"]}, org.owner.token)
    assert data["organization"]["invitations"]["totalCount"] == 0
    assert (await ok(client, PREVIEW, {"token": token}))["invitationByToken"]["status"] == "EXPIRED"


# --- API keys ---------------------------------------------------------------------------------

CREATE_KEY = """
mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { errors { code } secret } }"""


async def test_an_admin_api_key_invites_in_the_organizations_name(client, mailbox):
    org = await create_org(client, name="Keyed Co")
    payload = await mutate(
        client,
        CREATE_KEY,
        {"input": {"organizationId": org.id, "name": "HR sync", "role": "ADMIN"}},
        org.owner.token,
    )
    key = payload["secret"]
    created = await invite(client, org, unique_email(), token=key)
    assert created["invitedBy"] is None
    (mail,) = await mailbox.wait_for(created["email"])
    assert "Keyed Co" in mail.subject and "None" not in mail.text
    codes = await refused(
        client,
        UPDATE,
        {"input": {"invitationId": created["id"], "role": "ADMIN"}},
        key,
    )
    assert codes == ["FORBIDDEN_ROLE"]
    await mutate(client, REVOKE, {"id": created["id"]}, key)
