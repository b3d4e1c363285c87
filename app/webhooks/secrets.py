"""Webhook signing secrets: made, encrypted at rest, decrypted to sign.

A Standard Webhooks signature is an HMAC keyed with the secret itself, so the server
must be able to recover the secret to sign every delivery: a hash (as for API keys)
cannot sign. The secret is therefore stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256)
under a key derived from SECRET_KEY; a database dump without SECRET_KEY cannot sign.

Without SECRET_KEY in the environment, a random one is generated once into
`Settings.secret_key_file` (mode 0600) and read from there by every later process.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from app.config import ConfigError, Settings

PREFIX = "whsec_"
SECRET_BYTES = 32
# Domain separation: the same SECRET_KEY may key other things one day.
_KEY_CONTEXT = b"roster webhook secrets v1\x00"


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (the form standardwebhooks.Webhook takes)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _read_or_create(path: Path) -> str:
    """The key in `path`, created (0600, exclusively: concurrent processes agree) if absent."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"SECRET_KEY is unset and {path} cannot be created: {exc}") from exc
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
    for _ in range(50):  # another process may be between its create and its write
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.01)
    raise ConfigError(f"{path} is empty: delete it or set SECRET_KEY")


def secret_key(settings: Settings) -> str:
    return settings.secret_key or _read_or_create(settings.secret_key_file)


@lru_cache(maxsize=8)
def _fernet(key: str) -> Fernet:
    derived = hashlib.sha256(_KEY_CONTEXT + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(settings: Settings, secret: str) -> str:
    return _fernet(secret_key(settings)).encrypt(secret.encode()).decode()


class UndecryptableSecret(Exception):
    """The stored secret was encrypted under another SECRET_KEY."""


def decrypt(settings: Settings, token: str) -> str:
    try:
        return _fernet(secret_key(settings)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableSecret(
            "the webhook secret cannot be decrypted: SECRET_KEY changed since it was stored"
        ) from exc
