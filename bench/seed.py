"""Fill a database with a realistic large organization for the benchmarks.

    python bench/seed.py [--database-url URL] [--out bench/results/seed.json]
    python bench/seed.py --accept-pairs 3000 --pairs-out FILE   # only add acceptInvitation pairs

Everything goes through the real models (Tortoise, app.db); rows are written
with bulk_create in batches and ids re-queried afterwards (bulk_create leaves
primary keys unset). One argon2 hash is computed once and shared by every user.
The database must be empty of organizations (apply migrations first: done here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import db
from app.auth import passwords
from app.auth.tokens import SESSION_PREFIX, hash_token, new_token
from app.ids import to_global_id
from app.models import (
    AuditEvent,
    Invitation,
    Member,
    Organization,
    Project,
    ProjectAssignment,
    Session,
    User,
)
from app.models.enums import (
    InvitationStatus,
    MemberStatus,
    OrganizationRole,
    ProjectRole,
)
from app.services.accounts import create_session

BENCH_DIR = Path(__file__).resolve().parent
PASSWORD = "bench-correct-horse-battery"
BIG_SLUG = "acme-bench"
BATCH = 2000


def words(text: str) -> list[str]:
    return text.split()


FIRST = words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy "
    "Jacob Kathleen Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela "
    "Larry Emma Justin Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel Christine "
    "Zoë José Chloé Renée André Søren"
)
LAST = words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Goldsmith Smithers Smithson Okafor Kowalski Müller Nakamura Schmidt O'Brien "
    "Dubois Rossi Novak Jansen Eriksson Ivanova Papadopoulos Haddad Kim Patel Singh Cohen"
)
DOMAINS = ("acme.example", "acme.example", "acme.example", "mail.example", "corp.example")
PROJECT_WORDS = words(
    "Apollo Borealis Cobalt Delta Ember Falcon Granite Harbor Indigo Juniper Kestrel Lumen "
    "Meridian Nimbus Onyx Pioneer Quartz Raven Summit Tundra"
)
PROJECT_KINDS = ("Platform", "Mobile", "Data", "Billing", "Website")
ACTIONS = (
    "member.invited",
    "member.role_changed",
    "member.blocked",
    "member.unblocked",
    "member.removed",
    "invitation.revoked",
    "invitation.resent",
    "project.created",
    "project.assigned",
    "organization.updated",
)


def now() -> datetime:
    return datetime.now(UTC)


def default_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite://{BENCH_DIR / 'results' / 'bench.sqlite3'}"


async def bulk(model, rows: list) -> None:
    for i in range(0, len(rows), BATCH):
        await model.bulk_create(rows[i : i + BATCH])


async def ids_by(model, key: str, **filters) -> dict:
    """Re-query primary keys after bulk_create: {key value: id}."""
    return dict(await model.filter(**filters).values_list(key, "id"))


def person(rng: random.Random, used: set[str], n: int) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = f"{first}.{last}".lower().replace("'", "")
    email = f"{local}@{rng.choice(DOMAINS)}"
    if email in used:
        email = f"{local}{n}@{rng.choice(DOMAINS)}"
    used.add(email)
    return f"{first} {last}", email


async def make_users(people: list[tuple[str, str]], password_hash: str, joined: list) -> dict:
    users = [
        User(email=email, name=name, password_hash=password_hash, email_verified_at=t, created_at=t)
        for (name, email), t in zip(people, joined, strict=True)
    ]
    await bulk(User, users)
    wanted = {email for _, email in people}
    return {e: i for e, i in (await User.all().values_list("email", "id")) if e in wanted}


def new_member(org_id: int, user_id: int, name: str, email: str, role, status, joined) -> Member:
    member = Member(
        organization_id=org_id,
        user_id=user_id,
        name=name,
        email=email,
        status=status,
        joined_at=joined,
        blocked_at=joined + timedelta(days=30) if status == MemberStatus.BLOCKED else None,
        removed_at=joined + timedelta(days=60) if status == MemberStatus.REMOVED else None,
    )
    member.set_role(role)
    return member


async def seed_big(rng: random.Random, members: int, password_hash: str, used: set[str]) -> dict:
    t0 = now()
    org = await Organization.create(
        name="Acme Corporation", slug=BIG_SLUG, created_at=t0 - timedelta(days=1200)
    )
    people = [person(rng, used, n) for n in range(members)]
    people[0] = ("Olivia Owner", "olivia.owner@acme.example")
    used.add(people[0][1])
    joined = sorted(t0 - timedelta(minutes=rng.randrange(60, 1_700_000)) for _ in people)
    user_ids = await make_users(people, password_hash, joined)

    rows = []
    for n, ((name, email), t) in enumerate(zip(people, joined, strict=True)):
        if n == 0:
            role, status = OrganizationRole.OWNER, MemberStatus.ACTIVE
        else:
            role = rng.choices(
                (OrganizationRole.ADMIN, OrganizationRole.USER, OrganizationRole.VIEWER),
                (1, 80, 19),
            )[0]
            status = rng.choices(
                (MemberStatus.ACTIVE, MemberStatus.BLOCKED, MemberStatus.REMOVED), (95, 2, 3)
            )[0]
            if n == 1:
                role, status = OrganizationRole.USER, MemberStatus.ACTIVE
        rows.append(new_member(org.id, user_ids[email], name, email, role, status, t))
    await bulk(Member, rows)
    member_ids = await ids_by(Member, "user_id", organization_id=org.id)
    owner_member = member_ids[user_ids[people[0][1]]]

    projects = []
    for n in range(100):
        word, kind = PROJECT_WORDS[n % 20], PROJECT_KINDS[n // 20]
        projects.append(
            Project(
                organization_id=org.id,
                name=f"{word} {kind}",
                slug=f"{word}-{kind}".lower(),
                is_default=n == 0,
                created_by_id=owner_member,
                created_at=t0 - timedelta(days=rng.randrange(1, 1000)),
            )
        )
    await bulk(Project, projects)
    project_ids = list((await ids_by(Project, "slug", organization_id=org.id)).values())

    assignments = []
    for member in rows:
        if member.status == MemberStatus.REMOVED:
            continue
        for pid in rng.sample(project_ids, 3):
            role = rng.choices(tuple(ProjectRole), (2, 8, 70, 20))[0]
            assignments.append(
                ProjectAssignment(
                    project_id=pid,
                    member_id=member_ids[member.user_id],
                    role=role,
                    created_at=member.joined_at + timedelta(hours=1),
                )
            )
    await bulk(ProjectAssignment, assignments)

    invitations = []
    for status in InvitationStatus:
        for n in range(2000):
            name, email = person(rng, used, 100_000 + n)
            created = t0 - timedelta(minutes=rng.randrange(10, 500_000))
            stored = status
            expires = created + timedelta(days=7)
            if status == InvitationStatus.PENDING:
                expires = t0 + timedelta(minutes=rng.randrange(60, 14 * 24 * 60))
                created = expires - timedelta(days=14)
            elif status == InvitationStatus.EXPIRED and n % 2:
                stored = InvitationStatus.PENDING  # past expiresAt: reads as EXPIRED
                expires = min(expires, t0 - timedelta(minutes=1))
            invitations.append(
                Invitation(
                    organization_id=org.id,
                    email=email,
                    role=rng.choice((OrganizationRole.USER, OrganizationRole.VIEWER)),
                    status=stored,
                    token_hash=hash_token(new_token()) if stored == "PENDING" else None,
                    created_at=created,
                    expires_at=expires,
                    accepted_at=created + timedelta(days=1) if status == "ACCEPTED" else None,
                    ended_at=created + timedelta(days=1)
                    if status in ("DECLINED", "REVOKED")
                    else None,
                    invited_by_id=owner_member,
                    send_count=1,
                )
            )
    await bulk(Invitation, invitations)

    owner_user = user_ids[people[0][1]]
    all_members = list(member_ids.values())
    events = []
    for n in range(100_000):
        action = ACTIONS[n % len(ACTIONS)]
        events.append(
            AuditEvent(
                organization_id=org.id,
                action=action,
                actor_user_id=owner_user,
                target_type="Member",
                target_id=rng.choice(all_members),
                data={"role": "USER", "n": n},
                ip="127.0.0.1",
                created_at=t0 - timedelta(seconds=(100_000 - n) * 300),
            )
        )
    await bulk(AuditEvent, events)

    owner = await User.get(id=owner_user)
    return {
        "organization_id": org.id,
        "organization_global_id": to_global_id("Organization", org.id),
        "owner_email": owner.email,
        "owner_token": await create_session(owner),
        "member_email": people[1][1],
        "member_password": PASSWORD,
        "counts": {
            "members": len(rows),
            "projects": len(projects),
            "assignments": len(assignments),
            "invitations": len(invitations),
            "audit_events": len(events),
        },
    }


async def seed_small(rng: random.Random, count: int, password_hash: str, used: set[str]) -> None:
    t0 = now()
    orgs = [
        Organization(name=f"{rng.choice(LAST)} & Co {n}", slug=f"small-{n}", created_at=t0)
        for n in range(count)
    ]
    await bulk(Organization, orgs)
    org_ids = await ids_by(Organization, "slug", slug__startswith="small-")
    people = {
        slug: [person(rng, used, 200_000 + i * 10 + k) for k in range(5)]
        for i, slug in enumerate(org_ids)
    }
    flat = [p for group in people.values() for p in group]
    user_ids = await make_users(flat, password_hash, [t0] * len(flat))
    members = []
    for slug, group in people.items():
        for k, (name, email) in enumerate(group):
            role = OrganizationRole.OWNER if k == 0 else OrganizationRole.USER
            members.append(
                new_member(org_ids[slug], user_ids[email], name, email, role, "ACTIVE", t0)
            )
    await bulk(Member, members)
    projects = [
        Project(organization_id=oid, name=f"Project {k}", slug=f"project-{k}", created_at=t0)
        for oid in org_ids.values()
        for k in range(2)
    ]
    await bulk(Project, projects)


async def accept_pairs(count: int, password_hash: str) -> str:
    """PENDING invitations to the big org with known tokens, each for a signed-in user.

    The acceptInvitation scenario consumes one pair per request (a token works once).
    """
    org = await Organization.get(slug=BIG_SLUG)
    tag = f"{int(time.time())}{random.randrange(1000):03d}"
    t0 = now()
    emails = [f"accept.{tag}.{n}@invitee.example" for n in range(count)]
    # A name that sorts last, so that accepted invitees do not change the members page.
    people = [("Zygmunt Zawadzki", e) for e in emails]
    user_ids = await make_users(people, password_hash, [t0] * count)
    invite_tokens = [new_token() for _ in emails]
    await bulk(
        Invitation,
        [
            Invitation(
                organization_id=org.id,
                email=email,
                role=OrganizationRole.USER,
                status=InvitationStatus.PENDING,
                token_hash=hash_token(token),
                created_at=t0,
                expires_at=t0 + timedelta(days=7),
                send_count=1,
            )
            for email, token in zip(emails, invite_tokens, strict=True)
        ],
    )
    session_tokens = [new_token(SESSION_PREFIX) for _ in emails]
    await bulk(
        Session,
        [
            Session(user_id=user_ids[e], token_hash=hash_token(s), last_used_at=t0, created_at=t0)
            for e, s in zip(emails, session_tokens, strict=True)
        ],
    )
    return "".join(f"{s} {i}\n" for s, i in zip(session_tokens, invite_tokens, strict=True))


async def fill(args: argparse.Namespace) -> tuple[dict | None, str]:
    """(seed info, "") or (None, pairs text) with --accept-pairs."""
    started = time.perf_counter()
    url = args.database_url
    await db.migrate(url)
    await db.init_db(url, pool_size=2)
    try:
        password_hash = await passwords.hash_password(PASSWORD)
        if args.accept_pairs:
            return None, await accept_pairs(args.accept_pairs, password_hash)
        if await Organization.exists(slug=BIG_SLUG):
            raise SystemExit("seed: this database is already seeded; use a fresh one")
        rng = random.Random(args.seed)
        used: set[str] = set()
        info = await seed_big(rng, args.members, password_hash, used)
        await seed_small(rng, args.small_orgs, password_hash, used)
        if db.dialect() == "postgres":
            await db.connection().execute_script("ANALYZE")
        info["database_url"] = url
        info["seconds"] = round(time.perf_counter() - started, 1)
        return info, ""
    finally:
        await db.close_db()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=default_url())
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "seed.json")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--small-orgs", type=int, default=200)
    parser.add_argument("--accept-pairs", type=int, default=0)
    parser.add_argument("--pairs-out", type=Path, default=BENCH_DIR / "results" / "accept.txt")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    info, pairs = asyncio.run(fill(args))
    if info is None:
        args.pairs_out.parent.mkdir(parents=True, exist_ok=True)
        args.pairs_out.write_text(pairs)
        print(f"{args.accept_pairs} acceptInvitation pairs -> {args.pairs_out}")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
