"""Invitation rules for mail-less invitations and the membership end they grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import ErrorCode
from app.models import Invitation, OutboxMail
from app.models.enums import OrganizationRole
from app.services import invitations
from app.services.invitations import InviteRequest
from tests.support.services import refuses


async def test_without_mail_the_link_comes_back_and_nothing_is_queued(crew):
    actor = await crew.actor("ADMIN")
    invitation, link = await invitations.invite_with_link(
        actor, crew.organization.id, InviteRequest(email="nomail@example.com", send_email=False)
    )
    assert link is not None and link.startswith("http://roster.test/invitations/accept?token=")
    assert invitation.send_email is False and invitation.send_count == 0
    assert await OutboxMail.all().count() == 0
    # Mailed: no link handed out.
    mailed, none = await invitations.invite_with_link(
        actor, crew.organization.id, InviteRequest(email="mail@example.com")
    )
    assert none is None and mailed.send_count == 1
    assert await OutboxMail.all().count() == 1


@pytest.mark.parametrize(
    "moment",
    [
        datetime.now(UTC) - timedelta(seconds=1),
        datetime.now(UTC) + timedelta(days=5 * 365 + 1),
        datetime.now() + timedelta(days=1),  # no offset: ambiguous
    ],
    ids=["past", "beyond-five-years", "naive"],
)
async def test_a_membership_end_must_be_ahead_bounded_and_zoned(crew, moment):
    await refuses(
        invitations.invite(
            await crew.actor("OWNER"),
            crew.organization.id,
            InviteRequest(email="x@example.com", membership_expires_at=moment),
        ),
        ErrorCode.INVALID_INPUT,
    )


async def test_the_role_rules_hold_for_mail_less_invitations(crew):
    await refuses(
        invitations.invite(
            await crew.actor("OWNER"),
            crew.organization.id,
            InviteRequest(email="o@example.com", role=OrganizationRole.OWNER, send_email=False),
        ),
        ErrorCode.ROLE_NOT_ALLOWED,
    )
    await refuses(
        invitations.invite(
            await crew.actor("ADMIN"),
            crew.organization.id,
            InviteRequest(email="a@example.com", role=OrganizationRole.ADMIN, send_email=False),
        ),
        ErrorCode.FORBIDDEN_ROLE,
    )
    assert await Invitation.all().count() == 0
