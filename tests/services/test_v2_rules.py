"""Issue #12 at the service level: rate limits taken atomically and counted per address (6),
the mail domains refused (9), the actor's access re-read under the organization lock (11),
the password policy (12) and the mail headers (14)."""

from __future__ import annotations

import asyncio
import dataclasses
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app import config
from app.auth import passwords
from app.auth.viewer import OrgAccess, Viewer
from app.config import Settings
from app.errors import DomainError, ErrorCode
from app.mail.sender import build_message, message_id
from app.models import ApiKey, Domain, Invitation, Member, Project
from app.models.enums import MemberStatus, OrganizationRole, ProjectRole
from app.services import (
    accounts,
    api_keys,
    domains,
    invitations,
    members,
    organizations,
    projects,
    rate_limits,
)
from app.services.audit import Actor
from app.services.projects import AssignmentSpec
from tests.support import factories
from tests.support.factories import PASSWORD
from tests.support.services import Crew, refuses


async def outcome(call: Awaitable[object]) -> str:
    try:
        await call
    except DomainError as refusal:
        return refusal.code.value
    return "ok"


# --- rate limits (item 6) ------------------------------------------------------------------------


@pytest.fixture
async def limits_on(db) -> AsyncIterator[None]:
    """The test settings with rate limits on (the suite runs without them)."""
    before = config.current()
    config.set_current(dataclasses.replace(before, rate_limits=True))
    try:
        yield
    finally:
        config.set_current(before)


async def test_check_and_record_is_one_atomic_step(limits_on):
    limit = rate_limits.Limit("test_atomic", 10, timedelta(hours=1))
    results = await asyncio.gather(
        *(outcome(rate_limits.check_and_record(limit, "someone")) for _ in range(30))
    )
    assert results.count("ok") == 10 and results.count("RATE_LIMITED") == 20, results


async def test_several_limits_are_taken_together_or_not_at_all(limits_on):
    small = rate_limits.Limit("test_small", 2, timedelta(hours=1))
    large = rate_limits.Limit("test_large", 5, timedelta(hours=1))
    both = [(small, "a"), (large, "b")]
    assert [await outcome(rate_limits.take(both)) for _ in range(3)] == [
        "ok",
        "ok",
        "RATE_LIMITED",
    ]
    # The refused attempt recorded nothing: `large` has counted two uses, three remain.
    alone = [(large, "b")]
    assert [await outcome(rate_limits.take(alone)) for _ in range(4)] == ["ok"] * 3 + [
        "RATE_LIMITED"
    ]


async def test_failed_log_ins_count_per_address_with_a_higher_ceiling_per_email(limits_on):
    person = await factories.make_user("victim@example.com")
    stranger, owner_ip = "203.0.113.9", "198.51.100.7"

    async def attempt(password: str, ip: str) -> str:
        return await outcome(accounts.check_credentials(person.email, password, ip))

    tries = [await attempt("wrong password!", stranger) for _ in range(11)]
    assert tries == ["INVALID_CREDENTIALS"] * 10 + ["RATE_LIMITED"]
    # The stranger's failures do not lock the owner out from their own address, and a
    # successful log-in is not counted.
    assert await attempt(PASSWORD, owner_ip) == "ok"
    assert (await accounts.log_in(person.email, PASSWORD, owner_ip)).token

    # Across addresses, the per-email ceiling (50) still holds.
    for n in range(40):
        assert await attempt("wrong password!", f"192.0.2.{n}") == "INVALID_CREDENTIALS"
    assert await attempt("wrong password!", "192.0.2.200") == "RATE_LIMITED"
    assert await attempt(PASSWORD, owner_ip) == "RATE_LIMITED"


async def test_parallel_failed_log_ins_from_one_address(limits_on):
    person = await factories.make_user("burst@example.com")
    results = await asyncio.gather(
        *(
            outcome(accounts.check_credentials(person.email, "wrong password!", "192.0.2.1"))
            for _ in range(30)
        )
    )
    assert results.count("INVALID_CREDENTIALS") == 10, results
    assert results.count("RATE_LIMITED") == 20, results


# --- mail domains (item 9) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "domain", ["163.com", "qq.com", "gmail.com", "mailinator.com", "yopmail.com"]
)
def test_public_and_disposable_domains_are_not_claimable(domain):
    with pytest.raises(DomainError) as refusal:
        domains.clean_new_domain(domain, f"it@{domain}", OrganizationRole.USER)
    assert refusal.value.code is ErrorCode.DOMAIN_NOT_ALLOWED


def test_the_lists_come_from_the_maintained_packages():
    assert "163.com" in domains.public_email_domains()
    assert "mailinator.com" in domains.disposable_email_domains()
    assert len(domains.public_email_domains()) > 1000
    assert len(domains.disposable_email_domains()) > 1000
    assert "acme-corp.com" not in domains.refused_email_domains()
    assert domains.clean_new_domain("acme-corp.com", "it@acme-corp.com", OrganizationRole.USER)


# --- the actor's access re-read under the lock (item 11) -----------------------------------------


@dataclass
class Scene:
    crew: Crew
    actor: Actor  # the ADMIN as the permission check saw them, before the lock
    project: Project
    invitation: Invitation
    domain: Domain
    key: ApiKey

    @property
    def org(self) -> int:
        return self.crew.organization.id

    @property
    def user(self) -> int:
        return self.crew["USER"].id


@pytest.fixture
async def scene(crew: Crew) -> Scene:
    org = crew.organization.id
    return Scene(
        crew=crew,
        actor=await crew.actor("ADMIN"),
        project=await factories.make_project(org),
        invitation=await factories.make_invitation(org, "pending@example.com"),
        domain=await Domain.create(
            organization_id=org, domain="acme-corp.com", verification_email="it@acme-corp.com"
        ),
        key=await ApiKey.create(
            organization_id=org,
            name="ci",
            role=OrganizationRole.USER,
            prefix="rk_ci",
            secret_hash="1" * 64,
        ),
    )


Change = Callable[[Scene], Awaitable[object]]
CHANGES: dict[str, Change] = {
    "block": lambda s: members.block(s.actor, s.user),
    "unblock": lambda s: members.unblock(s.actor, s.user),
    "remove": lambda s: members.remove(s.actor, s.user),
    "update_role": lambda s: members.update_role(s.actor, s.user, OrganizationRole.VIEWER),
    "update_profile": lambda s: members.update_profile(s.actor, s.user, {"title": "Boss"}),
    "invite": lambda s: invitations.invite(
        s.actor, s.org, invitations.InviteRequest(email="new@example.com")
    ),
    "resend_invitation": lambda s: invitations.resend(s.actor, s.invitation.id),
    "revoke_invitation": lambda s: invitations.revoke(s.actor, s.invitation.id),
    "extend_invitation": lambda s: invitations.extend(s.actor, s.invitation.id, 3),
    "update_organization": lambda s: organizations.update_organization(
        s.actor, s.org, {"name": "Taken Over"}
    ),
    "create_api_key": lambda s: api_keys.create_api_key(
        s.actor, s.org, "key", OrganizationRole.USER, None
    ),
    "revoke_api_key": lambda s: api_keys.revoke_api_key(s.actor, s.key.id),
    "add_domain": lambda s: domains.add_domain(
        s.actor, s.org, "acme-labs.com", "it@acme-labs.com", False, OrganizationRole.USER
    ),
    "remove_domain": lambda s: domains.remove_domain(s.actor, s.domain.id),
    "assign_projects": lambda s: projects.assign_projects(
        s.actor, s.org, [s.user], [AssignmentSpec(s.project.id, ProjectRole.ADMIN)]
    ),
    "update_project": lambda s: projects.update_project(s.actor, s.project.id, {"name": "Mine"}),
    "delete_project": lambda s: projects.delete_project(s.actor, s.project.id),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_an_admin_demoted_before_the_lock_is_refused(scene: Scene, change):
    admin = await scene.crew.reload("ADMIN")
    admin.set_role(OrganizationRole.USER)  # meanwhile, the owner demoted them
    await admin.save(update_fields=["role", "role_rank"])
    await refuses(CHANGES[change](scene), ErrorCode.FORBIDDEN_ROLE)


@pytest.mark.parametrize("status", [MemberStatus.BLOCKED, MemberStatus.REMOVED])
@pytest.mark.parametrize("change", ["block", "invite", "update_organization", "assign_projects"])
async def test_an_admin_blocked_or_removed_before_the_lock_finds_nothing(
    scene: Scene, change, status
):
    await Member.filter(id=scene.crew["ADMIN"].id).update(status=status)
    await refuses(CHANGES[change](scene), ErrorCode.NOT_FOUND)


async def test_a_key_revoked_before_the_lock_is_refused(scene: Scene):
    key = await ApiKey.create(
        organization_id=scene.org,
        name="admin key",
        role=OrganizationRole.ADMIN,
        prefix="rk_admin",
        secret_hash="2" * 64,
    )
    actor = Actor(viewer=Viewer(api_key=key), access=OrgAccess(scene.org, OrganizationRole.ADMIN))
    await ApiKey.filter(id=key.id).update(revoked_at=datetime.now(UTC))
    await refuses(members.block(actor, scene.user), ErrorCode.NOT_FOUND)
    await ApiKey.filter(id=key.id).update(revoked_at=None)
    assert (await members.block(actor, scene.user)).status == MemberStatus.BLOCKED


async def test_an_admin_still_admin_acts(scene: Scene):
    assert (await members.block(scene.actor, scene.user)).status == MemberStatus.BLOCKED


# --- passwords (item 12) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", [" " * 10, "\u200b" * 10, "Password1!", "iloveyou12", "aaaaaaaaaaaa", "1234567890"]
)
def test_weak_passwords(password):
    with pytest.raises(DomainError) as refusal:
        passwords.check_policy(password, "pat@example.com", "Pat Doe")
    assert refusal.value.code is ErrorCode.WEAK_PASSWORD


def test_the_name_and_email_are_hints():
    strong_for_others = "marguerite thibodeaux"
    passwords.check_policy(strong_for_others, "someone@example.com", "Some One")
    with pytest.raises(DomainError):
        passwords.check_policy(
            strong_for_others, "marguerite.thibodeaux@example.com", "Marguerite Thibodeaux"
        )
    with pytest.raises(DomainError):
        passwords.check_policy("thibodeaux2024!", "mt@example.com", "Marguerite Thibodeaux")
    passwords.check_policy("thibodeaux2024!", "mt@example.com", "Ada Lovelace")


def test_good_passwords_pass():
    for password in (PASSWORD, "a brand new passphrase", "a long enough passphrase"):
        passwords.check_policy(password, "ada@example.com", "Ada Lovelace")
    # Long passwords are fine (scored on their start, which must be strong itself).
    passwords.check_policy(PASSWORD * 9, "ada@example.com", "Ada Lovelace")


async def test_hash_and_verify_normalise_unicode():
    composed = "crème brûlée sous la neige"
    stored = await passwords.hash_password(composed)
    assert await passwords.verify_password(stored, unicodedata.normalize("NFD", composed))
    assert await passwords.verify_password(stored, composed)
    assert not await passwords.verify_password(stored, "creme brulee sous la neige")
    # A hash made before normalisation (of a non-NFKC password) still verifies.
    legacy = "ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ ｓｔａｐｌｅ"
    old_hash = passwords._hasher.hash(legacy)
    assert await passwords.verify_password(old_hash, legacy)


# --- mail headers (item 14) ----------------------------------------------------------------------


def test_message_id_is_stable_per_outbox_row_and_names_the_sender_domain():
    settings = Settings(mail_from="Roster <no-reply@roster.example>", public_url="https://x.test")
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    first = message_id(17, created, settings)
    assert first == message_id(17, created, settings)
    assert first != message_id(18, created, settings)
    assert first.startswith("<") and first.endswith("@roster.example>") and "17" in first
    # Without a real sender domain, PUBLIC_URL's host.
    local = Settings(mail_from="Roster <no-reply@localhost>", public_url="https://people.acme.test")
    assert message_id(17, created, local).endswith("@people.acme.test>")


def test_build_message_sets_date_and_message_id():
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    message = build_message(
        "Roster <no-reply@roster.example>",
        "to@example.com",
        "Hello",
        "text",
        "<p>html</p>",
        message_id="<mail.17@roster.example>",
        date=created,
    )
    assert message["Message-ID"] == "<mail.17@roster.example>"
    assert message["Date"] == "Wed, 01 May 2024 12:00:00 +0000"
