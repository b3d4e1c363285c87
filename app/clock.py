"""The one clock: every rule that compares with "now" asks here.

Tests move it, never production:

- in-process tests call `set_offset(seconds)` / `set_offset(None)` (or `travel`);
- a server under test runs with `ROSTER_TESTING=1` and `ROSTER_FAKE_NOW=<path>`: the
  file holds either an offset in seconds (`3600`, `-5.5`) added to the real time, or an
  ISO 8601 instant (`2030-01-01T00:00:00+00:00`) the clock stands still at. The file is
  read again whenever its modification time or size changes, so a test moves the clock
  of a running server process by rewriting it. A missing, empty or unreadable file is
  the real time.

Without `ROSTER_TESTING=1` the file is never looked at: production always reads the
real time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

FAKE_NOW_ENV = "ROSTER_FAKE_NOW"
TESTING_ENV = "ROSTER_TESTING"


def read_environment() -> str | None:
    """The fake-clock file's path from the environment (None unless testing). Read once at
    import, since a server process is started with it and `now()` runs for every row of a
    list page; tests that change the variables in-process call this again."""
    global _FAKE_NOW_PATH
    testing = os.environ.get(TESTING_ENV) == "1"
    _FAKE_NOW_PATH = (os.environ.get(FAKE_NOW_ENV) or None) if testing else None
    return _FAKE_NOW_PATH


_FAKE_NOW_PATH: str | None = None
read_environment()
# Set by in-process tests only (see `set_offset`).
_offset: timedelta | None = None
# The fake-clock file as last read: ((mtime_ns, size), offset or fixed instant).
_file_state: tuple[tuple[int, int], timedelta | datetime | None] | None = None


def _parse(text: str) -> timedelta | datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _from_file() -> timedelta | datetime | None:
    """The fake clock's file setting; None unless testing with ROSTER_FAKE_NOW set."""
    global _file_state
    if not _FAKE_NOW_PATH:
        return None
    path = _FAKE_NOW_PATH
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (stat.st_mtime_ns, stat.st_size)
    if _file_state is None or _file_state[0] != key:
        try:
            with open(path, encoding="utf-8") as handle:
                setting = _parse(handle.read(200))
        except (OSError, UnicodeDecodeError):
            setting = None
        _file_state = (key, setting)
    return _file_state[1]


def now() -> datetime:
    """The current time, timezone-aware in UTC (moved only under test, see above)."""
    real = datetime.now(UTC)
    if _offset is not None:
        return real + _offset
    setting = _from_file()
    if isinstance(setting, datetime):
        return setting.astimezone(UTC)
    if isinstance(setting, timedelta):
        return real + setting
    return real


def set_offset(seconds: float | None) -> None:
    """Shift this process's clock by `seconds` from the real time (None: the real time).
    For in-process tests only."""
    global _offset
    _offset = None if seconds is None else timedelta(seconds=seconds)


def travel(seconds: float) -> None:
    """Move this process's clock `seconds` further (in-process tests)."""
    current = _offset.total_seconds() if _offset is not None else 0.0
    set_offset(current + seconds)
