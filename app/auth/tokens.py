"""Random secrets: sessions, API keys and emailed tokens.

Every secret is 256 random bits, url-safe base64, and stored only as its
SHA-256 hex digest. Lookups go by the digest, so a timing difference in the
index lookup tells nothing about the secret; the final comparison of digests
is constant-time as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "rs_"
API_KEY_PREFIX = "rk_"


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def digests_match(stored: str, token: str) -> bool:
    return hmac.compare_digest(stored, hash_token(token))
