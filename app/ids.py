"""Opaque global ids: base64url of "Type:pk", as Relay's `Node` expects."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

NODE_TYPES = frozenset(
    {
        "User",
        "Organization",
        "Member",
        "Invitation",
        "Project",
        "ProjectAssignment",
        "AuditEvent",
        "Domain",
        "ApiKey",
        "OwnershipTransfer",
        "ScimConnection",
        "Team",
        "JoinRequest",
        "OrganizationSuggestion",
        "WebhookEndpoint",
        "WebhookDelivery",
    }
)


@lru_cache(maxsize=65536)
def to_global_id(type_name: str, pk: int) -> str:
    """Remembered: a list page writes the same users' and projects' ids request after
    request."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(global_id: object) -> tuple[str, int] | None:
    """(type name, pk) or None when the id is malformed or of no known type."""
    if not isinstance(global_id, str) or not 0 < len(global_id) <= 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, pk = raw.partition(":")
    if not sep or type_name not in NODE_TYPES or not pk.isascii() or not pk.isdigit():
        return None
    value = int(pk)
    if not 0 < value < 2**63:
        return None
    return type_name, value


def pk_of(global_id: object, type_name: str) -> int | None:
    """The primary key of a global id of the given type, else None."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
