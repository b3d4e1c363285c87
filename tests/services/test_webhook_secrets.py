"""Webhook secrets at rest: encrypted under a key from SECRET_KEY (or one generated once
into a 0600 file), useless without it; the settings that configure webhooks."""

from __future__ import annotations

import base64
import stat

import pytest

from app.config import DEFAULT_WEBHOOK_RETRY_SCHEDULE, ConfigError, Settings
from app.webhooks.secrets import UndecryptableSecret, decrypt, encrypt, new_secret


def test_a_secret_is_whsec_and_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_encrypted_under_secret_key_and_unreadable_under_another():
    settings = Settings(secret_key="one key")
    secret = new_secret()
    stored = encrypt(settings, secret)
    assert secret.removeprefix("whsec_") not in stored
    assert decrypt(settings, stored) == secret
    with pytest.raises(UndecryptableSecret):
        decrypt(Settings(secret_key="another key"), stored)


def test_without_secret_key_one_is_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "var" / "secret_key"
    settings = Settings(secret_key=None, secret_key_file=path)
    stored = encrypt(settings, "whsec_" + base64.b64encode(b"k" * 32).decode())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text()
    # A later process reads the same key.
    later = Settings(secret_key=None, secret_key_file=path)
    assert decrypt(later, stored).startswith("whsec_")
    assert path.read_text() == key


def test_webhook_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "WEBHOOK_RETRY_SCHEDULE": "1, 2,3.5",
            "WEBHOOK_TIMEOUT_SECONDS": "2",
            "WEBHOOK_ALLOW_INSECURE": "1",
            "SECRET_KEY": "s",
        }
    )
    assert settings.webhook_retry_schedule == (1.0, 2.0, 3.5)
    assert settings.webhook_timeout_seconds == 2.0
    assert settings.webhook_allow_insecure and settings.secret_key == "s"
    defaults = Settings.from_env({})
    assert defaults.webhook_retry_schedule == DEFAULT_WEBHOOK_RETRY_SCHEDULE
    assert defaults.webhook_retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert defaults.webhook_timeout_seconds == 10 and not defaults.webhook_allow_insecure
    for bad in ({"WEBHOOK_RETRY_SCHEDULE": "5,soon"}, {"WEBHOOK_RETRY_SCHEDULE": "-1"}):
        with pytest.raises(ConfigError, match="WEBHOOK_RETRY_SCHEDULE"):
            Settings.from_env(bad)
    with pytest.raises(ConfigError, match="WEBHOOK_TIMEOUT_SECONDS"):
        Settings.from_env({"WEBHOOK_TIMEOUT_SECONDS": "0"})
