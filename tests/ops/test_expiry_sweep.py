"""The expiry sweep across server processes (PostgreSQL): `roster serve` with WORKERS=2, its
clock moved through the test hook (ROSTER_TESTING=1, ROSTER_FAKE_NOW naming a file). Access
ends at the instant in both processes; the removals, reverts and assignment deletions are
written within seconds, each with one audit event and one mail, whichever process sweeps."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from app import clock
from app.ids import to_global_id
from app.models import AuditEvent, Member, OutboxMail, ProjectAssignment
from app.models.enums import MemberStatus, OrganizationRole
from tests.conftest import BACKEND, free_port
from tests.ops.test_cli import wait_healthy
from tests.support import factories

ROOT = Path(__file__).resolve().parents[2]
COUNT = 12  # of each kind: enough for both processes to reach for the same rows

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres", reason="several server processes need PostgreSQL"
)


def graphql(port: int, token: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


ORG = "query($id: ID!) { organization(id: $id) { id viewerRole } }"


async def test_two_processes_sweep_each_change_once(db, database_url, smtp_sink, tmp_path):
    smtp_sink.clear()
    owner = await factories.make_user(name="Olive Owner")
    organization, _ = await factories.make_organization(owner)
    project = await factories.make_project(organization)
    at = clock.now() + timedelta(hours=1)
    leaving, reverting, assigned = [], [], []
    for n in range(COUNT):
        member = await factories.make_member(organization, name=f"Leaving {n}")
        await factories.make_assignment(project, member)
        await Member.filter(id=member.id).update(expires_at=at)
        leaving.append(member)
        member = await factories.make_member(organization, name=f"Temp {n}")
        await Member.filter(id=member.id).update(
            role=OrganizationRole.ADMIN,
            role_rank=1,
            role_expires_at=at,
            role_reverts_to=OrganizationRole.USER,
        )
        reverting.append(member)
        member = await factories.make_member(organization, name=f"Assigned {n}")
        row = await factories.make_assignment(project, member)
        await ProjectAssignment.filter(id=row.id).update(expires_at=at)
        assigned.append(row)
    token = await factories.make_session(await factories.User.get(id=leaving[0].user_id))
    org_id = to_global_id("Organization", organization.id)

    fake_now = tmp_path / "now"
    fake_now.write_text("0")
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "SMTP_URL": f"smtp://{smtp_sink.host}:{smtp_sink.port}",
        "PORT": str(port),
        "WORKERS": "2",
        "EXPIRY_SWEEP_SECONDS": "0.2",
        "ROSTER_TESTING": "1",
        "ROSTER_FAKE_NOW": str(fake_now),
    }
    process = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "app", "serve"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        while sum("ready: process" in line for line in lines) < 2:
            line = await asyncio.to_thread(process.stdout.readline)
            assert line, "".join(lines)
            lines.append(line)
        await asyncio.to_thread(wait_healthy, port)
        body = await asyncio.to_thread(graphql, port, token, ORG, {"id": org_id})
        assert body["data"]["organization"]["viewerRole"] == "USER"

        # An hour and a second later, in both processes.
        fake_now.write_text(str(3601))
        body = await asyncio.to_thread(graphql, port, token, ORG, {"id": org_id})
        assert body["data"]["organization"] is None

        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            done = (
                await Member.filter(
                    id__in=[m.id for m in leaving], status=MemberStatus.REMOVED
                ).count()
                + await Member.filter(
                    id__in=[m.id for m in reverting], role=OrganizationRole.USER
                ).count()
                + COUNT
                - await ProjectAssignment.filter(id__in=[a.id for a in assigned]).count()
            )
            if done == 3 * COUNT:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"the sweep did not finish: {done} of {3 * COUNT}")
        # Every mail is out; then a few more sweeps of both processes find nothing to do.
        for member in leaving:
            await smtp_sink.wait_for(member.email, timeout=30)
        await asyncio.sleep(1.5)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = await asyncio.to_thread(process.communicate, timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    output = "".join(lines) + output
    assert process.returncode == 0, output
    assert "Traceback" not in output, output

    def targets(action: str):
        return AuditEvent.filter(action=action).values_list("target_id", flat=True)

    expired = await targets("member.expired")
    assert sorted(expired) == sorted(m.id for m in leaving)
    reverted = await targets("member.role_reverted")
    assert sorted(reverted) == sorted(m.id for m in reverting)
    gone = await targets("project.assignment_expired")
    assert sorted(gone) == sorted(a.id for a in assigned)
    # The leavers' own assignments went with them (in member.expired), not separately.
    assert not await ProjectAssignment.filter(project_id=project.id).exists()
    for member in leaving:
        assert await OutboxMail.filter(to_email=member.email).count() == 1
        assert len(smtp_sink.to(member.email)) == 1
