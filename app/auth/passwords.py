"""Password hashing (argon2id, off the event loop) and the password policy."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import DomainError, ErrorCode

MIN_LENGTH = 10
MAX_LENGTH = 256

# OWASP's argon2id recommendation: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# argon2-cffi releases the GIL, so a small pool keeps hashing off the loop
# without letting a burst of log-ins starve everything else.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
# A hash of a random password, verified against when the email is unknown so
# that both paths of logIn cost the same.
_DUMMY_HASH = _hasher.hash("roster-dummy-password-for-timing")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line)


def check_policy(password: str, email: str | None, field: str = "password") -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise DomainError(
            ErrorCode.WEAK_PASSWORD,
            f"Passwords are {MIN_LENGTH} to {MAX_LENGTH} characters long.",
            field,
        )
    lowered = password.lower()
    if lowered in common_passwords():
        raise DomainError(ErrorCode.WEAK_PASSWORD, "This password is too common.", field)
    if email and lowered == email.lower():
        raise DomainError(ErrorCode.WEAK_PASSWORD, "The password cannot be your email.", field)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Verify; with `stored=None` (unknown account) spends the same time and fails."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, stored, password)
