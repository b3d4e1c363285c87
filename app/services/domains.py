"""Verified domains and auto-join."""

from __future__ import annotations

from app.models import User


async def auto_join(user: User, ip: str | None) -> None:
    """Join `user` to organizations with a verified auto-join domain matching their email."""
    return None
