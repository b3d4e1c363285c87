"""Set-ups shared by the link-page tests: each ends with a mailed token, made through the API."""

from __future__ import annotations

import asyncio
import re
from html import unescape

from aiohttp.test_utils import TestClient

from app.models import AuditEvent, EmailToken, Invitation, Member, Session, User
from tests.support.api import (
    INVITE,
    LOG_IN,
    PASSWORD,
    Org,
    Person,
    gql,
    mutate,
    ok,
    sign_up_by_api,
)
from tests.support.mailbox import LINK_RE, Mailbox

NEW_PASSWORD = "a brand new passphrase"
REQUEST_RESET = """
mutation($email: String!) { requestPasswordReset(input: {email: $email}) { ok errors { code } } }"""
TRANSFER = """
mutation($id: ID!) { transferOwnership(input: {memberId: $id}) { errors { code } transfer { id } } }"""
ADD_DOMAIN = """
mutation($input: AddDomainInput!) {
  addDomain(input: $input) { errors { code field } domain { id domain verified } }
}"""
ME = """
{ me { id email emailVerified memberships { role status organization { id name } } } }"""
ORG_ROLES = """
query($id: ID!) {
  organization(id: $id) { viewerRole domains { domain verified } members { nodes { name role } } }
}"""

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _tokens(mailbox: Mailbox, email: str, path: str) -> list[str]:
    found = []
    for mail in mailbox.to(email):
        match = LINK_RE.search(mail.text)
        if match and match.group(1).endswith(path):
            found.append(match.group(2))
    return found


async def mailed_token(mailbox: Mailbox, email: str, path: str, seen: list[str]) -> str:
    """The token of the first mail to `email` linking to `path` that is not in `seen`."""
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        fresh = [t for t in _tokens(mailbox, email, path) if t not in seen]
        if fresh:
            return fresh[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no new {path} mail to {email}")


async def invite(
    client: TestClient,
    mailbox: Mailbox,
    org: Org,
    email: str,
    role: str = "USER",
    message: str | None = None,
) -> str:
    """Invite `email` as the owner; the token of the mailed link."""
    seen = _tokens(mailbox, email, "/invitations/accept")
    variables = {"organizationId": org.id, "email": email, "role": role}
    if message is not None:
        variables["message"] = message
    await mutate(client, INVITE, {"input": variables}, org.owner.token)
    return await mailed_token(mailbox, email, "/invitations/accept", seen)


async def reset_token(client: TestClient, mailbox: Mailbox, email: str) -> str:
    seen = _tokens(mailbox, email, "/password/reset")
    await mutate(client, REQUEST_RESET, {"email": email})
    return await mailed_token(mailbox, email, "/password/reset", seen)


async def verify_token(client: TestClient, mailbox: Mailbox, email: str) -> tuple[Person, str]:
    """Sign up `email` (which mails the verification link)."""
    person = await sign_up_by_api(client, email=email, name="Vera Verify")
    return person, await mailed_token(mailbox, email, "/email/verify", [])


async def transfer_token(client: TestClient, mailbox: Mailbox, org: Org, member_id: str) -> str:
    seen = _tokens(mailbox, org.owner.email, "/ownership/confirm")
    await mutate(client, TRANSFER, {"id": member_id}, org.owner.token)
    return await mailed_token(mailbox, org.owner.email, "/ownership/confirm", seen)


async def domain_token(
    client: TestClient, mailbox: Mailbox, org: Org, domain: str, auto_join: bool = False
) -> str:
    address = f"it@{domain}"
    seen = _tokens(mailbox, address, "/domains/verify")
    await mutate(
        client,
        ADD_DOMAIN,
        {
            "input": {
                "organizationId": org.id,
                "domain": domain,
                "verificationEmail": address,
                "autoJoin": auto_join,
            }
        },
        org.owner.token,
    )
    return await mailed_token(mailbox, address, "/domains/verify", seen)


async def log_in(client: TestClient, email: str, password: str = PASSWORD) -> str | None:
    """A session token, or None when the credentials are refused."""
    body = await gql(client, LOG_IN, {"input": {"email": email, "password": password}})
    return body["data"]["logIn"]["token"]


async def me(client: TestClient, token: str) -> dict:
    return (await ok(client, ME, token=token))["me"]


async def snapshot() -> dict[str, object]:
    """What a refused action must leave as it was."""
    return {
        "users": await User.all().count(),
        "members": sorted(await Member.all().values_list("id", "role", "status")),
        "sessions": await Session.all().count(),
        "audit": await AuditEvent.all().count(),
        "invitations": sorted(await Invitation.all().values_list("id", "status", "token_hash")),
        "email_tokens": sorted(await EmailToken.all().values_list("id", "used_at")),
        "passwords": sorted(await User.all().values_list("id", "password_hash")),
    }


def text(html: str) -> str:
    """The visible text of a page, tags dropped and entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def heading(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, html
    return unescape(match.group(1)).strip()
