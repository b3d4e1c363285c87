"""SCIM Groups (teams managed by SCIM) and the roles their mappings give."""

from __future__ import annotations

from urllib.parse import quote

from app.models import AuditEvent, Team, TeamMember
from app.models.enums import ManagedBy
from tests.scim.support import connect, events_of, member, new_user
from tests.support.api import create_org

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def test_create_rename_patch_members_and_delete(client, mailbox):
    scim = await connect(client)
    ada = await scim.post("/Users", new_user("ada@example.com"), status=201)
    bob = await scim.post("/Users", new_user("bob@example.com"), status=201)
    group = await scim.post(
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "okta-grp-1",
            "members": [{"value": ada["id"], "display": "Ada"}],
        },
        status=201,
    )
    assert group["displayName"] == "Engineering" and group["externalId"] == "okta-grp-1"
    assert [m["value"] for m in group["members"]] == [ada["id"]]
    team = await Team.get()
    assert team.managed_by == ManagedBy.SCIM and team.slug == "engineering"
    # The same name twice is a uniqueness error.
    error = await scim.post("/Groups", {"displayName": "engineering"}, status=409)
    assert error["scimType"] == "uniqueness"
    # Okta: add a member; Entra: remove one by a value path, rename with Replace.
    await scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]}],
        },
        status=200,
    )
    await scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Remove", "path": f'members[value eq "{ada["id"]}"]'},
                {"op": "Replace", "path": "displayName", "value": "Platform"},
            ],
        },
        status=200,
    )
    read = await scim.get(f"/Groups/{group['id']}")
    assert read["displayName"] == "Platform"
    assert [m["value"] for m in read["members"]] == [bob["id"]]
    user = await scim.get(f"/Users/{bob['id']}")
    assert [g["display"] for g in user["groups"]] == ["Platform"]
    # Entra: remove with a value list; a path-less replace of the members.
    await scim.patch(
        f"/Groups/{group['id']}",
        {"Operations": [{"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]}]},
        status=200,
    )
    assert await TeamMember.all().count() == 0
    await scim.patch(
        f"/Groups/{group['id']}",
        {"Operations": [{"op": "replace", "value": {"members": [{"value": ada["id"]}]}}]},
        status=200,
    )
    # PUT replaces everything.
    replaced = await scim.put(
        f"/Groups/{group['id']}",
        {"displayName": "Platform", "members": [{"value": bob["id"]}]},
        status=200,
    )
    assert [m["value"] for m in replaced["members"]] == [bob["id"]]
    assert "externalId" not in replaced
    # Listing, filtering, excludedAttributes=members (Entra).
    listed = await scim.get(
        "/Groups?excludedAttributes=members&filter=" + quote('displayName eq "platform"', safe="")
    )
    assert listed["totalResults"] == 1
    assert "members" not in listed["Resources"][0]
    assert listed["Resources"][0]["displayName"] == "Platform"
    one = await scim.get(f"/Groups/{group['id']}?excludedAttributes=members")
    assert "members" not in one
    error = await scim.post(
        "/Groups", {"displayName": "X", "members": [{"value": "nobody"}]}, status=400
    )
    assert error["scimType"] == "invalidValue"
    await scim.delete(f"/Groups/{group['id']}", status=204)
    await scim.get(f"/Groups/{group['id']}", status=404)
    assert await Team.all().count() == 0 and await TeamMember.all().count() == 0
    actions = [e.action for e in await AuditEvent.filter(target_type="Team").order_by("id")]
    assert actions[0] == "team.created" and actions[-1] == "team.deleted"
    assert "team.updated" in actions and "team.members_removed" in actions
    for event in await AuditEvent.filter(target_type="Team"):
        assert event.data["via"] == "scim"


async def test_roles_follow_groups(client, mailbox):
    org = await create_org(client)
    scim = await connect(
        client,
        org=org,
        default_role="VIEWER",
        mappings=[
            {"group": "Engineering", "role": "USER"},
            {"group": "IT Admins", "role": "ADMIN"},
        ],
    )
    ada = await scim.post("/Users", new_user("ada@example.com"), status=201)
    assert (await member(ada["id"])).role == "VIEWER"
    eng = await scim.post(
        "/Groups", {"displayName": "Engineering", "members": [{"value": ada["id"]}]}, status=201
    )
    assert (await member(ada["id"])).role == "USER"
    admins = await scim.post("/Groups", {"displayName": "IT admins"}, status=201)
    await scim.patch(
        f"/Groups/{admins['id']}",
        {"Operations": [{"op": "add", "path": "members", "value": [{"value": ada["id"]}]}]},
        status=200,
    )
    assert (await member(ada["id"])).role == "ADMIN"  # the highest of their groups
    await scim.patch(
        f"/Groups/{admins['id']}",
        {"Operations": [{"op": "remove", "path": f'members[value eq "{ada["id"]}"]'}]},
        status=200,
    )
    assert (await member(ada["id"])).role == "USER"
    # Renaming a group re-applies the mapping to its members.
    await scim.patch(
        f"/Groups/{eng['id']}",
        {"Operations": [{"op": "replace", "value": {"displayName": "Engineering alumni"}}]},
        status=200,
    )
    assert (await member(ada["id"])).role == "VIEWER"
    await scim.patch(
        f"/Groups/{eng['id']}",
        {"Operations": [{"op": "replace", "path": "displayName", "value": "Engineering"}]},
    )
    assert (await member(ada["id"])).role == "USER"
    await scim.delete(f"/Groups/{eng['id']}", status=204)
    assert (await member(ada["id"])).role == "VIEWER"
    changes = await events_of("member.role_changed")
    assert [(e.data["before"], e.data["after"]) for e in changes] == [
        ("VIEWER", "USER"),
        ("USER", "ADMIN"),
        ("ADMIN", "USER"),
        ("USER", "VIEWER"),
        ("VIEWER", "USER"),
        ("USER", "VIEWER"),
    ]
    assert all(e.data["via"] == "scim" for e in changes)


async def test_groups_of_another_connection_organization_are_invisible(client, mailbox):
    scim = await connect(client)
    other = await connect(client)
    group = await scim.post("/Groups", {"displayName": "Mine"}, status=201)
    user = await scim.post("/Users", new_user("mine@example.com"), status=201)
    await other.get(f"/Groups/{group['id']}", status=404)
    await other.get(f"/Users/{user['id']}", status=404)
    await other.patch(
        f"/Groups/{group['id']}",
        {"Operations": [{"op": "replace", "path": "displayName", "value": "Theirs"}]},
        status=404,
    )
    error = await other.post(
        "/Groups", {"displayName": "Theirs", "members": [{"value": user["id"]}]}, status=400
    )
    assert error["scimType"] == "invalidValue"
    assert (await other.get("/Groups"))["totalResults"] == 0


async def test_lists_use_a_constant_number_of_statements(client, mailbox):
    from tests.support.sqlcount import count_statements

    scim = await connect(client)
    users = [
        (await scim.post("/Users", new_user(f"n{n}@example.com"), status=201))["id"]
        for n in range(12)
    ]
    for n in range(6):
        await scim.post(
            "/Groups",
            {"displayName": f"G{n}", "members": [{"value": v} for v in users[n : n + 4]]},
            status=201,
        )
    await scim.get("/Users?count=1")  # lastUsedAt is written at most once a minute
    counts = []
    for count in (2, 12):
        with count_statements() as users_sql:
            page = await scim.get(f"/Users?count={count}")
        with count_statements() as groups_sql:
            groups = await scim.get(f"/Groups?count={count // 2}")
        assert len(page["Resources"]) == count and len(groups["Resources"]) == count // 2
        counts.append((users_sql.count, groups_sql.count))
    assert counts[0] == counts[1], counts


UPDATE_CONNECTION = """
mutation($input: UpdateScimConnectionInput!) {
  updateScimConnection(input: $input) { errors { code field } connection { id } }
}"""


async def test_changing_the_mappings_applies_them_at_once(client, mailbox):
    from tests.support.api import add_member, mutate, refused

    scim = await connect(
        client,
        mappings=[{"group": "IT Admins", "role": "ADMIN"}, {"group": "Eng", "role": "USER"}],
        default_role="VIEWER",
    )
    admin, _ = await add_member(client, mailbox, scim.org, role="ADMIN")
    ada = await scim.post("/Users", new_user("ada@example.com"), status=201)
    bob = await scim.post("/Users", new_user("bob@example.com"), status=201)
    await scim.post("/Groups", {"displayName": "IT Admins", "members": [{"value": ada["id"]}]})
    await scim.post("/Groups", {"displayName": "Eng", "members": [{"value": bob["id"]}]})
    assert (await member(ada["id"])).role == "ADMIN" and (await member(bob["id"])).role == "USER"
    # An ADMIN may not take the ADMIN mapping away (it would demote ADMINs).
    variables = {
        "input": {
            "connectionId": scim.connection_id,
            "roleMappings": [{"group": "Eng", "role": "VIEWER"}],
        }
    }
    assert await refused(client, UPDATE_CONNECTION, variables, admin.token) == ["FORBIDDEN_ROLE"]
    assert (await member(ada["id"])).role == "ADMIN" and (await member(bob["id"])).role == "USER"
    # An ADMIN may change the others: applied to every member the connection provisioned.
    variables["input"]["roleMappings"] = [
        {"group": "IT Admins", "role": "ADMIN"},
        {"group": "Eng", "role": "VIEWER"},
    ]
    await mutate(client, UPDATE_CONNECTION, variables, admin.token)
    assert (await member(bob["id"])).role == "VIEWER"
    # The owner removes the ADMIN mapping; the default applies.
    variables["input"]["roleMappings"] = []
    variables["input"]["defaultRole"] = "USER"
    await mutate(client, UPDATE_CONNECTION, variables, scim.org.owner.token)
    assert (await member(ada["id"])).role == "USER" and (await member(bob["id"])).role == "USER"
    changes = await events_of("member.role_changed")
    assert all(e.data["via"] == "scim" for e in changes)


async def test_groups_follow_the_team_rules_for_names_and_slugs(client, mailbox):
    """One writer for teams (app/services/teams.py): a SCIM group's slug comes from its
    name and follows a rename as updateTeam's does; names are cleaned as teams' are."""
    scim = await connect(client)
    group = await scim.post("/Groups", {"displayName": "Data  Platform"}, status=201)
    team = await Team.get()
    assert (team.name, team.slug) == ("Data Platform", "data-platform")
    await scim.patch(
        f"/Groups/{group['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"displayName": "SRE"}}]},
        status=200,
    )
    team = await Team.get()
    assert (team.name, team.slug) == ("SRE", "sre")
    (updated,) = await events_of("team.updated")
    assert updated.data["after"] == {"name": "SRE", "slug": "sre"} and updated.data["via"] == "scim"
    before = await AuditEvent.all().count()
    error = await scim.post("/Groups", {"displayName": "bad\x07name"}, status=400)
    assert "INVALID_INPUT" in error["detail"]
    assert await AuditEvent.all().count() == before and await Team.all().count() == 1
