"""Password hashing (argon2id, off the event loop) and the password policy.

Passwords are normalised to Unicode NFKC before they are checked, hashed or verified,
so the composed and decomposed (or full-width) forms of one password are one password.
The policy: 10 to 256 characters, not among the most common passwords, not the email,
and a zxcvbn score of at least 3 with the person's email and name as hints.
"""

from __future__ import annotations

import asyncio
import re
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from app.errors import DomainError, ErrorCode

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn's score: 3 is "safely unguessable: moderate protection from offline attacks".
MIN_SCORE = 3
# zxcvbn refuses longer input (and gets slow); a longer password is scored on its start,
# which must then be strong by itself.
SCORED_LENGTH = 72

# OWASP's argon2id recommendation: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# argon2-cffi releases the GIL, so a small pool keeps hashing off the loop
# without letting a burst of log-ins starve everything else.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
# A hash of a random password, verified against when the email is unknown so
# that both paths of logIn cost the same.
_DUMMY_HASH = _hasher.hash("roster-dummy-password-for-timing")
# zxcvbn is pure Python (a few milliseconds a password): a new password is scored on the
# hashing pool, just before it is hashed, so that a burst of sign-ups neither stalls the
# event loop nor holds the GIL for long at a time. zxcvbn keeps the hints in a
# module-level dictionary, so one call at a time.
_zxcvbn_lock = threading.Lock()


def normalize(password: str) -> str:
    """The form a password is checked, hashed and verified in (Unicode NFKC)."""
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line)


def _hints(email: str | None, name: str | None) -> list[str]:
    """What an attacker who targets this person knows: the email, its parts, the name and
    its words."""
    hints: list[str] = []
    if email:
        local, _, domain = email.lower().partition("@")
        hints += [email.lower(), local, domain, *re.split(r"[._+-]+", local)]
        hints += domain.split(".")[:-1]
    if name:
        hints += [name.lower(), *name.lower().split()]
    return [hint for hint in dict.fromkeys(hints) if len(hint) >= 2]


def check_basics(password: str, email: str | None, field: str = "password") -> None:
    """The quick part of the policy: length, the common list, not the email
    (WEAK_PASSWORD)."""
    password = normalize(password)
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


def check_strength(
    password: str, email: str | None, name: str | None = None, field: str = "password"
) -> None:
    """The slow part: zxcvbn's score, with the person's email and name as hints."""
    with _zxcvbn_lock:
        result = zxcvbn(normalize(password)[:SCORED_LENGTH], user_inputs=_hints(email, name))
    if result["score"] < MIN_SCORE:
        warning = result["feedback"].get("warning") or ""
        message = "This password is too easy to guess"
        message += f": {warning.rstrip('.')}." if warning else "; add more words."
        raise DomainError(ErrorCode.WEAK_PASSWORD, message, field)


def check_policy(
    password: str, email: str | None, name: str | None = None, field: str = "password"
) -> None:
    """WEAK_PASSWORD unless `password` passes the whole policy for the person with this
    email and name."""
    check_basics(password, email, field)
    check_strength(password, email, name, field)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(
        _pool, _hasher.hash, normalize(password)
    )


def _checked_hash(password: str, email: str | None, name: str | None, field: str) -> str:
    check_policy(password, email, name, field)
    return _hasher.hash(normalize(password))


async def hash_new_password(
    password: str, email: str | None, name: str | None = None, field: str = "password"
) -> str:
    """The hash of a new password once it passes the whole policy, else WEAK_PASSWORD.

    The quick checks run at once; the score and the hash on the hashing pool.
    """
    check_basics(password, email, field)
    return await asyncio.get_running_loop().run_in_executor(
        _pool, _checked_hash, password, email, name, field
    )


def _verify_one(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify(stored: str | None, password: str) -> bool:
    if stored is None:
        _verify_one(_DUMMY_HASH, password)
        return False
    normalized = normalize(password)
    if _verify_one(stored, normalized):
        return True
    # A hash made before passwords were normalised, of a password that changes under
    # NFKC, was made from the form as typed.
    return normalized != password and _verify_one(stored, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Verify; with `stored=None` (unknown account) spends the same time and fails."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, stored, password)
