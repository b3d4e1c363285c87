"""Configuration, read once from the environment (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_DATABASE_URL = f"sqlite://{Path('var/roster.sqlite3').absolute()}"
# How long a statement waits for SQLite's write lock (held by another process) or a new
# PostgreSQL connection for the server; beyond it the request is SERVICE_UNAVAILABLE.
DEFAULT_DB_TIMEOUT_MS = 5000.0
# Where a SECRET_KEY is generated (once) when the environment gives none: beside the
# default SQLite database, in the directory `make run` uses.
DEFAULT_SECRET_KEY_FILE = Path("var/secret_key").absolute()
# Webhook retries (seconds after each failed attempt): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_WEBHOOK_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class SmtpSettings:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # implicit TLS (smtps://)
    start_tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(f"SMTP_URL must look like smtp://[user:pass@]host:port, got {url!r}")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
            start_tls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    smtp: SmtpSettings | None = None
    mail_from: str = "Roster <no-reply@localhost>"
    public_url: str = "http://localhost:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    cors_origins: tuple[str, ...] = ()
    rate_limits: bool = True
    db_pool_size: int = 10
    db_timeout_ms: float = DEFAULT_DB_TIMEOUT_MS
    # How often the mail worker looks at the outbox when nothing woke it.
    outbox_poll_seconds: float = 5.0
    workers: int = 1
    log_format: str = "text"
    slow_request_ms: float = 1000.0
    slow_query_ms: float = 200.0
    metrics_token: str | None = None
    # How often each process's expiry sweep writes ended access (EXPIRY_SWEEP_SECONDS).
    expiry_sweep_seconds: float = 20.0
    # Encrypts webhook secrets at rest (app/webhooks/secrets.py); None: the key kept in
    # `secret_key_file`, generated there on first use.
    secret_key: str | None = None
    secret_key_file: Path = DEFAULT_SECRET_KEY_FILE
    webhook_timeout_seconds: float = 10.0
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE
    # Lifts the https-only and public-address rules on webhook URLs (development, tests).
    webhook_allow_insecure: bool = False
    # How often the webhook worker looks for due deliveries when nothing woke it.
    webhook_poll_seconds: float = 1.0
    # False: this process writes deliveries but leaves sending them to other processes.
    webhook_worker: bool = True
    # How long a process remembers a session token's session and user
    # (SESSION_CACHE_SECONDS; 0: off). Log-out and password reset end it at once.
    session_cache_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        smtp_url = env.get("SMTP_URL", "").strip()
        try:
            port = int(env.get("PORT", "8080"))
            pool = int(env.get("DB_POOL_SIZE", "10"))
            workers = int(env.get("WORKERS", "1"))
            slow_request_ms = float(env.get("SLOW_REQUEST_MS", "1000"))
            slow_query_ms = float(env.get("SLOW_QUERY_MS", "200"))
            db_timeout_ms = float(env.get("DB_TIMEOUT_MS", "") or DEFAULT_DB_TIMEOUT_MS)
            webhook_timeout = float(env.get("WEBHOOK_TIMEOUT_SECONDS", "") or 10.0)
            webhook_poll = float(env.get("WEBHOOK_POLL_SECONDS", "") or 1.0)
            session_cache = float(env.get("SESSION_CACHE_SECONDS", "") or 5.0)
        except ValueError as exc:
            raise ConfigError(
                "PORT, DB_POOL_SIZE, WORKERS, SLOW_REQUEST_MS, SLOW_QUERY_MS, DB_TIMEOUT_MS, "
                "WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_POLL_SECONDS and SESSION_CACHE_SECONDS are "
                f"numbers: {exc}"
            ) from exc
        if not 0.1 <= webhook_timeout <= 60:
            raise ConfigError("WEBHOOK_TIMEOUT_SECONDS must be between 0.1 and 60")
        if not 0 <= session_cache <= 300:
            raise ConfigError("SESSION_CACHE_SECONDS must be between 0 and 300")
        if not 0.01 <= webhook_poll <= 60:
            raise ConfigError("WEBHOOK_POLL_SECONDS must be between 0.01 and 60")
        schedule = _retry_schedule(env.get("WEBHOOK_RETRY_SCHEDULE", ""))
        if not 1 <= db_timeout_ms <= 600_000:
            raise ConfigError("DB_TIMEOUT_MS must be between 1 and 600000 (10 minutes)")
        if not 1 <= workers <= 64:
            raise ConfigError("WORKERS must be between 1 and 64")
        log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in ("text", "json"):
            raise ConfigError("LOG_FORMAT must be text or json")
        database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        if not database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ConfigError("DATABASE_URL must start with sqlite:// or postgres://")
        if workers > 1 and database_url.startswith("sqlite://"):
            raise ConfigError(
                "WORKERS > 1 needs PostgreSQL: SQLite has a single writer, so run one process"
            )
        return cls(
            database_url=database_url,
            smtp=SmtpSettings.from_url(smtp_url) if smtp_url else None,
            mail_from=env.get("MAIL_FROM", "").strip() or cls.mail_from,
            public_url=(env.get("PUBLIC_URL", "").strip() or cls.public_url).rstrip("/"),
            host=env.get("HOST", "").strip() or cls.host,
            port=port,
            cors_origins=tuple(
                o.strip().rstrip("/") for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()
            ),
            rate_limits=env.get("RATE_LIMITS", "on").strip().lower() != "off",
            db_pool_size=pool,
            db_timeout_ms=db_timeout_ms,
            workers=workers,
            log_format=log_format,
            slow_request_ms=slow_request_ms,
            slow_query_ms=slow_query_ms,
            metrics_token=env.get("METRICS_TOKEN", "").strip() or None,
            expiry_sweep_seconds=_sweep_seconds(env),
            secret_key=env.get("SECRET_KEY", "").strip() or None,
            secret_key_file=Path(env.get("SECRET_KEY_FILE", "").strip() or DEFAULT_SECRET_KEY_FILE),
            webhook_timeout_seconds=webhook_timeout,
            webhook_retry_schedule=schedule,
            webhook_allow_insecure=env.get("WEBHOOK_ALLOW_INSECURE", "").strip().lower()
            in ("1", "true", "yes", "on"),
            webhook_poll_seconds=webhook_poll,
            webhook_worker=env.get("WEBHOOK_WORKER", "on").strip().lower() != "off",
            session_cache_seconds=session_cache,
        )

    def link(self, path: str, token: str) -> str:
        """The link an email carries: `{PUBLIC_URL}/<path>?token=<token>`."""
        return f"{self.public_url}{path}?token={token}"


def _sweep_seconds(env: dict[str, str]) -> float:
    raw = env.get("EXPIRY_SWEEP_SECONDS", "").strip() or "20"
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise ConfigError(f"EXPIRY_SWEEP_SECONDS is a number: {exc}") from exc
    if not 0.1 <= seconds <= 60:
        raise ConfigError("EXPIRY_SWEEP_SECONDS must be between 0.1 and 60")
    return seconds


def _retry_schedule(raw: str) -> tuple[float, ...]:
    """WEBHOOK_RETRY_SCHEDULE: comma-separated seconds, each 0 to 7 days, at most 20."""
    if not raw.strip():
        return DEFAULT_WEBHOOK_RETRY_SCHEDULE
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(
            f"WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds, got {raw!r}"
        ) from exc
    if len(delays) > 20 or any(not 0 <= d <= 7 * 86400 for d in delays):
        raise ConfigError(
            "WEBHOOK_RETRY_SCHEDULE takes at most 20 delays, each 0 to 604800 seconds"
        )
    return delays


_current: Settings | None = None


def current() -> Settings:
    """The settings of the running server (set by the app factory at start-up)."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def set_current(settings: Settings) -> None:
    global _current
    _current = settings
