"""Moving this process's clock (app/clock.py) in tests; tests/conftest.py puts it back to
the real time around every test."""

from __future__ import annotations

from datetime import UTC, datetime

from app import clock


def move_to(instant: datetime, seconds: float = 0) -> None:
    """Set this process's clock to `instant` + `seconds` (it keeps running from there)."""
    clock.set_offset((instant - datetime.now(UTC)).total_seconds() + seconds)
