"""SCIM Users: the request sequences Okta and Entra send, seats, the owner, mail, audit."""

from __future__ import annotations

from urllib.parse import quote

from app.ids import to_global_id
from app.models import AuditEvent, Member, Organization, OutboxMail, TeamMember, User
from app.models.enums import ManagedBy, MemberStatus
from tests.scim.support import connect, events_of, member, new_user
from tests.support.api import LOG_IN, PASSWORD, add_member, gql, mutate
from tests.support.factories import owner_of

RESET = """
mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { errors { code } } }"""


def q(filter_text: str) -> str:
    return quote(filter_text, safe="")


def eq(attribute: str, value: str) -> str:
    """`attribute eq "value"`, URL-encoded."""
    return q(attribute + ' eq "' + value + '"')


async def test_okta_lookup_then_create_then_deactivate(client, mailbox):
    scim = await connect(client)
    email = "ada.lovelace@example.com"
    # 1. Okta looks the user up by userName first.
    found = await scim.get("/Users?filter=" + eq("userName", email) + "&startIndex=1&count=100")
    assert found["totalResults"] == 0 and found["Resources"] == []
    assert found["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    # 2. Then creates them.
    created = await scim.post("/Users", new_user(email), status=201)
    assert created["userName"] == email and created["active"] is True
    assert created["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert created["emails"] == [{"value": email, "type": "work", "primary": True}]
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{created['id']}")
    row = await member(created["id"])
    assert row.status == MemberStatus.ACTIVE and row.role == "USER"
    assert row.managed_by == ManagedBy.SCIM and row.name == "Ada Lovelace"
    # The lookup now finds them, ignoring case.
    found = await scim.get("/Users?filter=" + eq("userName", email.upper()))
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    # 3. Deactivation: a path-less replace of active.
    patched = await scim.patch(
        f"/Users/{created['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
        status=200,
    )
    assert patched["active"] is False
    assert (await member(created["id"])).status == MemberStatus.BLOCKED
    # A blocked member still answers; they still hold their seat.
    assert (await scim.get(f"/Users/{created['id']}", status=200))["active"] is False
    # Reactivation.
    await scim.patch(
        f"/Users/{created['id']}",
        {"Operations": [{"op": "replace", "value": {"active": True}}]},
        status=200,
    )
    assert (await member(created["id"])).status == MemberStatus.ACTIVE
    actions = [e.action for e in await AuditEvent.filter(target_type="Member").order_by("id")]
    assert actions == ["member.joined", "member.blocked", "member.unblocked"]
    for event in await AuditEvent.filter(target_type="Member"):
        assert event.data["via"] == "scim"


async def test_entra_sequence(client, mailbox):
    scim = await connect(client)
    upn = "grace@contoso.example.com"
    # Entra matches on externalId (its objectId) first.
    found = await scim.get("/Users?filter=" + q('externalId eq "f7d3-11"'))
    assert found["totalResults"] == 0
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": "f7d3-11",
        "userName": upn,
        "active": True,
        "displayName": "Grace Hopper",
        "emails": [{"primary": True, "type": "work", "value": "grace.hopper@example.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Navy"},
    }
    created = await scim.post("/Users", body, status=201)
    assert created["externalId"] == "f7d3-11" and created["userName"] == upn
    user_id = created["id"]
    found = await scim.get("/Users?filter=" + q('externalId eq "f7d3-11"'))
    assert [r["id"] for r in found["Resources"]] == [user_id]
    found = await scim.get("/Users?filter=" + eq('emails[type eq "work"].value', upn))
    assert [r["id"] for r in found["Resources"]] == [user_id]
    # Capitalised ops, dotted keys, a value-filter path, and "False" as a string.
    await scim.patch(
        f"/Users/{user_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Rear Admiral Hopper"},
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "gh@example.com",
                },
                {"op": "Add", "value": {"name.givenName": "Grace B.", "name.familyName": "Hopper"}},
                {
                    "op": "Replace",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    "value": "Navy",
                },
            ],
        },
        status=200,
    )
    read = await scim.get(f"/Users/{user_id}")
    assert read["displayName"] == "Rear Admiral Hopper"
    assert read["emails"] == [{"value": "gh@example.com", "type": "work", "primary": True}]
    assert read["name"]["givenName"] == "Grace B."
    row = await member(user_id)
    assert row.name == "Rear Admiral Hopper"
    assert row.email == "grace@contoso.example.com"  # the account's address stays
    await scim.patch(
        f"/Users/{user_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "value": {"active": "False"}}],
        },
        status=200,
    )
    assert (await member(user_id)).status == MemberStatus.BLOCKED
    await scim.patch(
        f"/Users/{user_id}",
        {"Operations": [{"op": "replace", "path": "active", "value": "True"}]},
        status=200,
    )
    assert (await member(user_id)).status == MemberStatus.ACTIVE
    (updated,) = await events_of("member.updated")
    assert updated.data["via"] == "scim"


async def test_new_accounts_get_a_choose_a_password_mail(client, mailbox):
    scim = await connect(client)
    created = await scim.post("/Users", new_user("new.person@example.com"), status=201)
    user = await User.get(email="new.person@example.com")
    assert user.email_verified and user.password_hash == ""
    outbox = await OutboxMail.filter(to_email=user.email)
    assert [m.kind for m in outbox] == ["scim_welcome"]
    (mail,) = await mailbox.wait_for(user.email)
    assert "Acme" in mail.subject
    url, token = mail.link()
    assert url == "http://roster.test/password/reset"
    # Nobody logs in without the link; the link sets the password.
    body = await gql(client, LOG_IN, {"input": {"email": user.email, "password": "x"}})
    assert body["data"]["logIn"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    await mutate(client, RESET, {"input": {"token": token, "password": PASSWORD}})
    body = await gql(client, LOG_IN, {"input": {"email": user.email, "password": PASSWORD}})
    assert body["data"]["logIn"]["token"]
    assert created["id"] == to_global_id("Member", (await Member.get(user_id=user.id)).id)


async def test_an_existing_account_is_reused_and_an_existing_member_is_409(client, mailbox):
    scim = await connect(client)
    await add_member(client, mailbox, scim.org, email="mia@example.com")
    error = await scim.post("/Users", new_user("MIA@example.com"), status=409)
    assert error["scimType"] == "uniqueness" and error["status"] == "409"
    # In another organization the same account becomes a member, with no welcome mail.
    other = await connect(client)
    created = await scim.post("/Users", new_user("mia@example.com"), token=other.token, status=201)
    row = await member(created["id"])
    assert row.user_id == (await User.get(email="mia@example.com")).id
    assert await OutboxMail.filter(kind="scim_welcome").count() == 0


async def test_delete_removes_and_repost_reactivates(client, mailbox):
    scim = await connect(client)
    created = await scim.post("/Users", new_user("gone@example.com"), status=201)
    group = await scim.post(
        "/Groups", {"displayName": "Team", "members": [{"value": created["id"]}]}, status=201
    )
    await scim.delete(f"/Users/{created['id']}", status=204)
    row = await member(created["id"])
    assert row.status == MemberStatus.REMOVED
    await scim.get(f"/Users/{created['id']}", status=404)
    assert "members" not in await scim.get(f"/Groups/{group['id']}")
    (removed,) = await events_of("member.removed")
    assert removed.data["via"] == "scim"
    again = await scim.post("/Users", new_user("gone@example.com"), status=201)
    assert again["id"] == created["id"]
    assert (await member(again["id"])).status == MemberStatus.ACTIVE


async def test_seats_are_checked_on_create_and_on_unblock(client, mailbox):
    scim = await connect(client)
    organization = await Organization.get()
    organization.seat_limit = 2  # the owner and one more
    await organization.save()
    first = await scim.post("/Users", new_user("one@example.com"), status=201)
    error = await scim.post("/Users", new_user("two@example.com"), status=403)
    assert "SEAT_LIMIT_REACHED" in error["detail"]
    assert not await User.exists(email="two@example.com")
    await scim.patch(
        f"/Users/{first['id']}",
        {"Operations": [{"op": "replace", "value": {"active": False}}]},
        status=200,
    )
    # A blocked member keeps their seat; but past a lowered limit nobody comes back (one
    # rule with unblockMember: members.unblock_locked), and nothing is written.
    organization.seat_limit = 1
    await organization.save()
    error = await scim.patch(
        f"/Users/{first['id']}",
        {"Operations": [{"op": "replace", "value": {"active": True}}]},
        status=403,
    )
    assert "SEAT_LIMIT_REACHED" in error["detail"]
    assert (await member(first["id"])).status == MemberStatus.BLOCKED
    assert await events_of("member.unblocked") == []
    organization.seat_limit = 2
    await organization.save()
    await scim.patch(
        f"/Users/{first['id']}",
        {"Operations": [{"op": "replace", "value": {"active": True}}]},
        status=200,
    )
    assert (await member(first["id"])).status == MemberStatus.ACTIVE
    (unblocked,) = await events_of("member.unblocked")
    assert unblocked.data == {"via": "scim"}
    # Deleting frees the seat at once.
    organization.seat_limit = 2
    await organization.save()
    await scim.delete(f"/Users/{first['id']}", status=204)
    await scim.post("/Users", new_user("two@example.com"), status=201)


async def test_the_owner_is_never_changed(client, mailbox):
    scim = await connect(client)
    owner = await owner_of(await Organization.get())
    owner_id = to_global_id("Member", owner.id)
    listed = await scim.get("/Users?filter=" + eq("userName", owner.email))
    assert [r["id"] for r in listed["Resources"]] == [owner_id]
    error = await scim.patch(
        f"/Users/{owner_id}",
        {"Operations": [{"op": "replace", "value": {"active": False}}]},
        status=403,
    )
    assert "OWNER_PROTECTED" in error["detail"]
    await scim.delete(f"/Users/{owner_id}", status=403)
    # Group membership does not change the owner's role either.
    await scim.post("/Groups", {"displayName": "Everyone", "members": [{"value": owner_id}]})
    owner = await Member.get(id=owner.id)
    assert owner.role == "OWNER" and owner.status == MemberStatus.ACTIVE
    assert owner.managed_by == ManagedBy.ROSTER


async def test_paging_and_filters(client, mailbox):
    scim = await connect(client)
    for n in range(5):
        await scim.post("/Users", new_user(f"page{n}@example.com"), status=201)
    page = await scim.get("/Users?startIndex=2&count=2")
    assert page["totalResults"] == 6 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    big = await scim.get("/Users?count=100000")
    assert big["itemsPerPage"] == 6
    found = await scim.get("/Users?filter=" + q('userName sw "page"') + "&count=3")
    assert found["totalResults"] == 5 and len(found["Resources"]) == 3
    found = await scim.get("/Users?filter=" + q('userName co "ge3@" and userName sw "PAGE"'))
    assert found["totalResults"] == 1
    found = await scim.get("/Users?filter=" + q('emails.value eq "page4@example.com"'))
    assert found["totalResults"] == 1
    for bad in ('userName gt "a"', 'userName eq "a" or userName eq "b"', "userName eq", "((("):
        error = await scim.get(f"/Users?filter={q(bad)}", status=400)
        assert error["scimType"] == "invalidFilter"
    error = await scim.get("/Users?count=abc", status=400)
    assert error["scimType"] == "invalidValue"


async def test_bad_requests(client, mailbox):
    scim = await connect(client)
    await scim.get("/Users/nonsense", status=404)
    await scim.get(f"/Users/{to_global_id('Member', 999)}", status=404)
    response = await client.post(
        "/scim/v2/Users",
        data=b"{not json",
        headers={"Authorization": f"Bearer {scim.token}", "Content-Type": "application/scim+json"},
    )
    assert response.status == 400
    assert (await response.json(content_type=None))["scimType"] == "invalidSyntax"
    response = await client.post(
        "/scim/v2/Users",
        data=b"x" * (600 * 1024),
        headers={"Authorization": f"Bearer {scim.token}", "Content-Type": "application/json"},
    )
    assert response.status == 413
    response = await client.post(
        "/scim/v2/Users",
        data=b"userName=x",
        headers={"Authorization": f"Bearer {scim.token}", "Content-Type": "text/plain"},
    )
    assert response.status == 400
    assert (await response.json(content_type=None))["scimType"] == "invalidSyntax"
    # No Content-Type at all is read as JSON.
    response = await client.post(
        "/scim/v2/Users",
        data=b'{"userName": "bare@example.com"}',
        skip_auto_headers=["Content-Type"],
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    assert response.status == 201, await response.text()
    error = await scim.post("/Users", {"userName": "not-an-address"}, status=400)
    assert error["scimType"] == "invalidValue"
    created = await scim.post("/Users", new_user("ok@example.com"), status=201)
    for body in (
        {"Operations": []},
        {"Operations": [{"op": "explode", "path": "displayName", "value": "x"}]},
        {"Operations": [{"op": "replace", "value": {"active": "maybe"}}]},
        {"Operations": [{"op": "remove", "path": "userName"}]},
    ):
        error = await scim.patch(f"/Users/{created['id']}", body, status=400)
        assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    error = await scim.patch(
        f"/Users/{created['id']}", {"Operations": [{"op": "remove"}]}, status=400
    )
    assert error["scimType"] == "noTarget"
    await scim.post("/Bulk", {"Operations": []}, status=501)
    await scim.get("/Users?sortBy=userName", status=501)
    error = await scim.post("/Users/.search", {"sortBy": "userName"}, status=501)
    await scim.get("/Nothing", status=404)
    # Nothing of the failed requests was written.
    assert await Member.filter(email="not-an-address").count() == 0
    assert (await member(created["id"])).status == MemberStatus.ACTIVE
    assert await events_of("member.updated") == []


async def test_scim_blocks_and_removes_an_admin_it_provisioned(client, mailbox):
    """The identity provider acts on any member below the OWNER, whatever role its groups
    gave them (no caller-role check), through the members service's own changes: the
    assignments and teams go on removal, no mail, events with via scim."""
    scim = await connect(client, mappings=[{"group": "IT Admins", "role": "ADMIN"}])
    created = await scim.post("/Users", new_user("it.admin@example.com"), status=201)
    await scim.post(
        "/Groups", {"displayName": "IT Admins", "members": [{"value": created["id"]}]}, status=201
    )
    assert (await member(created["id"])).role == "ADMIN"
    await scim.patch(
        f"/Users/{created['id']}",
        {"Operations": [{"op": "replace", "value": {"active": False}}]},
        status=200,
    )
    assert (await member(created["id"])).status == MemberStatus.BLOCKED
    await scim.patch(
        f"/Users/{created['id']}",
        {"Operations": [{"op": "replace", "value": {"active": True}}]},
        status=200,
    )
    await scim.delete(f"/Users/{created['id']}", status=204)
    row = await member(created["id"])
    assert row.status == MemberStatus.REMOVED and row.role == "ADMIN"
    assert not await TeamMember.exists(member_id=row.id)
    assert await OutboxMail.filter(kind="member_removed").count() == 0
    actions = [
        e.action
        for e in await AuditEvent.filter(target_id=row.id, target_type="Member").order_by("id")
    ]
    assert actions[-3:] == ["member.blocked", "member.unblocked", "member.removed"]
    for event in await AuditEvent.filter(target_id=row.id, action__startswith="member."):
        assert event.data["via"] == "scim"
