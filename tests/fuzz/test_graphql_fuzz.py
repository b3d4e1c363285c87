"""Hostile input: schemathesis fuzzes /graphql from introspection as an organization OWNER.

A real server process (`python -m app serve`, rate limits off, no SMTP) gets generated
queries AND mutations, valid ones and deliberately invalid ones, with the owner's bearer
token; ids and some strings are drawn from real seeded rows so that resolvers and services
run on real data. No answer may be a 5xx or carry an `INTERNAL` error code.
ROSTER_FUZZ_CASES sets the number of cases (default 200; `make fuzz` runs 2000). Every
failing case is collected with its query, and the server log's tracebacks are shown.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS

from app.models.enums import MemberStatus
from tests.conftest import free_port
from tests.support.api import LOG_IN, PASSWORD, create_org, mutate, ok, sign_up
from tests.support.members import make_team_by_invitation, seed_members

ROOT = Path(__file__).resolve().parents[2]
CASES = int(os.environ.get("ROSTER_FUZZ_CASES", "200"))
NEGATIVE_EVERY = 4  # one case in four is a document the schema must refuse
TRACE = os.environ.get("ROSTER_FUZZ_TRACE")  # a file to append every case and answer to
MAX_ROUNDS = 5  # rounds over all operations when small ones run out of new cases


@pytest.fixture
def settings_overrides() -> dict:
    """The in-process app only seeds; its mail worker then sleeps (woken by its own mail)."""
    return {"outbox_poll_seconds": 3600}


CREATE_PROJECT = """
mutation($input: CreateProjectInput!) {
  createProject(input: $input) { errors { code } project { id } }
}"""
ASSIGN = """
mutation($input: AssignProjectsInput!) {
  assignProjects(input: $input) { errors { code } assignments { id } }
}"""
INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) { errors { code } invitation { id } }
}"""
REVOKE = """
mutation($id: ID!) { revokeInvitation(input: {invitationId: $id}) { errors { code } } }"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { errors { code } apiKey { id } }
}"""
ADD_DOMAIN = """
mutation($input: AddDomainInput!) { addDomain(input: $input) { errors { code } domain { id } } }"""
IDS = """
query($id: ID!) {
  organization(id: $id) {
    id slug
    members(first: 100, statuses: [ACTIVE, BLOCKED, REMOVED]) {
      nodes { id email user { id } projectAssignments { id } }
    }
    invitations(first: 100) { nodes { id email } }
    projects(first: 100) { nodes { id slug } }
    domains { id domain }
    apiKeys { id }
    auditEvents(first: 30) { nodes { id } }
  }
}"""


@dataclass
class Seeded:
    owner_email: str
    owner_token: str
    ids: list[str]
    strings: list[str]


def _collect(value: Any, key: str, out: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                out.add(v)
            else:
                _collect(v, key, out)
    elif isinstance(value, list):
        for item in value:
            _collect(item, key, out)


async def seed(client, mailbox) -> Seeded:
    """One organization with members of every role (plus blocked and removed ones),
    projects with assignments, invitations, an API key and a domain; and a second
    organization the owner does not belong to (its ids must stay invisible)."""
    team = await make_team_by_invitation(client, mailbox, "Fuzz Works")
    org, token = team.org, team.org.owner.token
    projects = []
    for name, default in (("Apollo", True), ("Gemini", False), ("Mercury", False)):
        payload = await mutate(
            client,
            CREATE_PROJECT,
            {"input": {"organizationId": org.id, "name": name, "isDefault": default}},
            token,
        )
        projects.append(payload["project"]["id"])
    await mutate(
        client,
        ASSIGN,
        {
            "input": {
                "organizationId": org.id,
                "memberIds": [team.member_id("USER"), team.member_id("VIEWER")],
                "assignments": [
                    {"projectId": projects[0], "role": "USE"},
                    {"projectId": projects[1], "role": "VIEWER"},
                ],
            }
        },
        token,
    )
    invited = []
    for i, role in enumerate(("USER", "VIEWER", "ADMIN")):
        payload = await mutate(
            client,
            INVITE,
            {
                "input": {
                    "organizationId": org.id,
                    "email": f"guest{i}@fuzz-works.io",
                    "role": role,
                    "projectAssignments": [{"projectId": projects[2], "role": "ADMIN"}],
                }
            },
            token,
        )
        invited.append(payload["invitation"]["id"])
    await mutate(client, REVOKE, {"id": invited[0]}, token)
    await seed_members(org, ["Bert Blocked"], status=MemberStatus.BLOCKED)
    await seed_members(org, ["Rita Removed"], status=MemberStatus.REMOVED)
    await mutate(
        client,
        CREATE_KEY,
        {"input": {"organizationId": org.id, "name": "ci", "role": "USER"}},
        token,
    )
    await mutate(
        client,
        ADD_DOMAIN,
        {
            "input": {
                "organizationId": org.id,
                "domain": "fuzz-works.io",
                "verificationEmail": "it@fuzz-works.io",
            }
        },
        token,
    )
    other = await create_org(client, "Elsewhere", await sign_up(client, name="Oscar Other"))
    data = await ok(client, IDS, {"id": org.id}, token)
    ids: set[str] = {other.id, team.org.owner.user_id}
    _collect(data, "id", ids)
    strings: set[str] = set()
    for key in ("email", "slug", "domain"):
        _collect(data, key, strings)
    return Seeded(org.owner.email, token, sorted(ids), sorted(strings))


def start_server(database_url: str, port: int, log: Path) -> subprocess.Popen:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("SMTP_URL", "WORKERS")
    }
    environment.update(
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        PORT=str(port),
        HOST="127.0.0.1",
        RATE_LIMITS="off",
    )
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=environment,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "ready: process" not in log.read_text():
        assert process.poll() is None, f"server exited:\n{log.read_text()[-5000:]}"
        assert time.monotonic() < deadline, f"server not ready:\n{log.read_text()[-5000:]}"
        time.sleep(0.1)


@dataclass
class Fuzzer:
    """Sends cases and keeps the ones that fail; never raises, so Hypothesis never shrinks."""

    url: str
    owner_email: str
    token: str
    cases: int = 0
    outcomes: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def send(self, case) -> None:
        self.cases += 1
        accept = "application/graphql-response+json" if self.cases % 2 else "application/json"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept}
        response = case.call(base_url=self.url, session=self.session, headers=headers, timeout=60)
        problem = judge(response.status_code, response.text)
        self.outcomes[outcome(response.status_code, response.text)] += 1
        if TRACE:
            with open(TRACE, "a", errors="backslashreplace") as trace:
                trace.write(f"--- {case.operation.label}\n{case.body}\n=> {response.text[:2000]}\n")
        if problem:
            self.failures.append(
                f"{case.operation.label} ({case.meta.generation.mode.value}, Accept {accept}): "
                f"{problem}\n  query: {printable(case.body)}\n  answer: {response.text[:500]}"
            )
        if case.operation.label == "Mutation.logOut":
            self.log_in()  # the session may have ended: later cases need a signed-in owner

    def log_in(self) -> None:
        variables = {"input": {"email": self.owner_email, "password": PASSWORD}}
        response = self.session.post(
            f"{self.url}/graphql", json={"query": LOG_IN, "variables": variables}, timeout=60
        )
        self.token = response.json()["data"]["logIn"]["token"]


def printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode()


def judge(status: int, text: str) -> str | None:
    """What is wrong with one answer, or None."""
    if status >= 500:
        return f"HTTP {status}"
    try:
        body = json.loads(text)
    except ValueError:
        return f"HTTP {status} with a body that is not JSON"
    codes: set[str] = set()
    _collect(body, "code", codes)
    if "INTERNAL" in codes:
        return f"HTTP {status} with an INTERNAL error"
    return None


def outcome(status: int, text: str) -> str:
    """A rough class of the answer, to see that the cases reach real data."""
    try:
        body = json.loads(text)
    except ValueError:
        return f"{status} not JSON"
    codes: set[str] = set()
    _collect(body.get("errors") or [], "code", codes)
    if not isinstance(body.get("data"), dict):
        return f"{status} refused " + ",".join(sorted(codes))
    if codes:
        return f"{status} partial " + ",".join(sorted(codes))
    found: set[str] = set()
    _collect(body["data"], "code", found)
    return f"{status} user errors " + ",".join(sorted(found)) if found else f"{status} ok"


def run_operation(fuzzer: Fuzzer, operation, budget: int) -> None:
    positive = operation.as_strategy(schemathesis.GenerationMode.POSITIVE)
    negative = operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)
    strategy = st.integers(0, NEGATIVE_EVERY - 1).flatmap(
        lambda n: negative if n == 0 else positive
    )

    @settings(
        max_examples=budget,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case) -> None:
        fuzzer.send(case)

    fuzz()


def fuzz_all(url: str, seeded: Seeded, cases: int) -> Fuzzer:
    schema = schemathesis.graphql.from_url(
        f"{url}/graphql", headers={"Authorization": f"Bearer {seeded.owner_token}"}
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"Query.organization", "Mutation.inviteMember", "Mutation.logOut"} <= labels
    fuzzer = Fuzzer(url=url, owner_email=seeded.owner_email, token=seeded.owner_token)
    budget = max(1, math.ceil(cases / len(operations)))
    for _ in range(MAX_ROUNDS):
        for operation in operations:
            run_operation(fuzzer, operation, budget)
        if fuzzer.cases >= cases:
            break
    return fuzzer


def id_values(seeded: Seeded) -> st.SearchStrategy:
    """Mostly real ids (any type, any organization), sometimes anything at all."""
    real = st.sampled_from(seeded.ids)
    return st.one_of(real, real, real, st.text(max_size=40)).map(nodes.String)


# What breaks storage and string handling: NUL (PostgreSQL text refuses it), a lone
# surrogate (not UTF-8), LIKE wildcards, quotes, astral characters, huge lengths.
HOSTILE = ["\x00", "\ud800", "%", "_", "\\", "'", '"', "\U0001f600", " ", "\n", "a" * 5000]


# Cursors are url-safe base64 of a JSON list of sort keys, [key, id] or [id]; forged ones
# keep that shape and carry values no column can hold: integers past 64 bits, NUL, lone
# surrogates, instants with no UTC datetime; and now and then a list of any shape.
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
INSTANTS = st.tuples(
    st.one_of(st.sampled_from([datetime.min, datetime.max]), st.datetimes()), OFFSETS
)
KEY_TIMES = INSTANTS.map(lambda pair: pair[0].replace(tzinfo=pair[1]).isoformat())
KEY_INTS = st.one_of(st.integers(), st.sampled_from([2**63, -(2**63) - 1, 10**30, 2**31]))
KEY_TEXTS = st.one_of(st.text(max_size=10), st.sampled_from(["a\x00b", "\ud800", "%", ""]))
CURSOR_KEYS = st.one_of(
    st.tuples(KEY_TEXTS, KEY_INTS),
    st.tuples(KEY_TIMES, KEY_INTS),
    st.tuples(KEY_INTS, KEY_INTS),
    st.tuples(KEY_INTS),
    st.lists(st.one_of(KEY_INTS, KEY_TEXTS, KEY_TIMES, st.none(), st.booleans()), max_size=4),
)
CURSORS = CURSOR_KEYS.map(
    lambda keys: base64.urlsafe_b64encode(json.dumps(list(keys)).encode()).decode()
)


def string_values(seeded: Seeded) -> st.SearchStrategy:
    """Real emails, slugs and domains, any text, real values spiked with hostile bits,
    and forged cursors (String is also the type of `after` and `before`)."""
    real = st.sampled_from(seeded.strings)
    spiked = st.tuples(st.one_of(real, st.just("")), st.sampled_from(HOSTILE), real).map(
        lambda parts: parts[0] + parts[1] + parts[2][: len(parts[2]) // 2]
    )
    return st.one_of(real, st.text(), spiked, spiked, CURSORS).map(nodes.String)


def int_values() -> st.SearchStrategy:
    """Mostly plausible counts (page sizes, days, seats) so cases get past the argument
    checks to the queries behind them; sometimes any 32-bit integer."""
    plausible = st.integers(0, 100)
    return st.one_of(plausible, plausible, st.integers(-(2**31), 2**31 - 1)).map(nodes.Int)


def datetime_values() -> st.SearchStrategy:
    """Any instant with any UTC offset, the edges of the calendar included."""
    return KEY_TIMES.map(nodes.String)


async def test_fuzz_graphql_as_owner(client, mailbox, database_url):
    seeded = await seed(client, mailbox)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="roster-fuzz-") as tmp:
        log = Path(tmp) / "server.log"
        process = start_server(database_url, port, log)
        saved = dict(CUSTOM_SCALARS)
        schemathesis.graphql.scalar("ID", id_values(seeded))
        schemathesis.graphql.scalar("String", string_values(seeded))
        schemathesis.graphql.scalar("DateTime", datetime_values())
        schemathesis.graphql.scalar("Int", int_values())
        started = time.monotonic()
        try:
            await asyncio.to_thread(wait_ready, process, log)
            fuzzer = await asyncio.to_thread(fuzz_all, f"http://127.0.0.1:{port}", seeded, CASES)
        finally:
            CUSTOM_SCALARS.clear()
            CUSTOM_SCALARS.update(saved)
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 30)
        elapsed = time.monotonic() - started
        output = log.read_text()
    print(f"fuzzed {fuzzer.cases} cases in {elapsed:.1f}s, {len(fuzzer.failures)} failing")
    for name, count in fuzzer.outcomes.most_common():
        print(f"{count:6d}  {name}")
    assert fuzzer.cases >= CASES
    errors = "\n".join(line for line in output.splitlines() if "roster.access" not in line)
    assert not fuzzer.failures, (
        f"{len(fuzzer.failures)} of {fuzzer.cases} cases failed:\n\n"
        + "\n\n".join(fuzzer.failures[:50])
        + "\n\nserver log without the access lines:\n"
        + errors[-30000:]
    )
    assert "Traceback" not in output, errors[-30000:]
