"""Input cleaning shared by every service: trimmed, bounded, or INVALID_INPUT."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from email_validator import EmailNotValidError, validate_email

from app.errors import DomainError, ErrorCode

NAME_MAX = 200
EMAIL_MAX = 254
USERNAME_MAX = 64
MESSAGE_MAX = 2000
LIST_MAX = 100
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}


def _has_control(value: str, allow_newlines: bool = False) -> bool:
    return any(
        unicodedata.category(ch) in _CONTROL and not (allow_newlines and ch in "\n\t")
        for ch in value
    )


def clean_name(value: str, field: str = "name") -> str:
    """Names and titles: 1–200 characters after trimming, no control characters."""
    cleaned = " ".join(value.split())
    if not 1 <= len(cleaned) <= NAME_MAX or _has_control(cleaned):
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"Must be 1 to {NAME_MAX} visible characters.", field
        )
    return cleaned


def clean_optional_name(value: str | None, field: str) -> str | None:
    """None or blank clears the value."""
    if value is None or not value.strip():
        return None
    return clean_name(value, field)


def clean_email(value: str, field: str = "email") -> str:
    """A syntactically valid address, lower-cased (emails compare case-insensitively)."""
    candidate = value.strip()
    if not candidate or len(candidate) > EMAIL_MAX:
        raise DomainError(ErrorCode.INVALID_EMAIL, "Enter a valid email address.", field)
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(ErrorCode.INVALID_EMAIL, f"Invalid email address: {exc}", field) from exc
    return result.normalized.lower()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1].lower()


def clean_domain(value: str, field: str = "domain") -> str:
    candidate = value.strip().lower().rstrip(".")
    labels = candidate.split(".")
    ok = (
        3 <= len(candidate) <= 253
        and len(labels) >= 2
        and all(
            1 <= len(label) <= 63 and re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", label)
            for label in labels
        )
        and not labels[-1].isdigit()
    )
    if not ok:
        raise DomainError(ErrorCode.INVALID_INPUT, "Enter a domain such as example.com.", field)
    return candidate


def clean_slug(value: str, field: str = "slug") -> str:
    candidate = value.strip().lower()
    if not 1 <= len(candidate) <= 64 or not _SLUG_RE.match(candidate):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "Slugs are 1 to 64 lower-case letters, digits and single hyphens.",
            field,
        )
    return candidate


def clean_username(value: str | None, field: str = "username") -> str | None:
    if value is None or not value.strip():
        return None
    candidate = value.strip()
    if len(candidate) > USERNAME_MAX or not _USERNAME_RE.match(candidate):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"Usernames are 1 to {USERNAME_MAX} letters, digits, dots, dashes or underscores.",
            field,
        )
    return candidate


def clean_message(value: str | None, field: str = "message") -> str | None:
    if value is None or not value.strip():
        return None
    candidate = value.strip()
    if len(candidate) > MESSAGE_MAX or _has_control(candidate, allow_newlines=True):
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"Messages are at most {MESSAGE_MAX} characters.", field
        )
    return candidate


def clean_days(value: int, field: str, low: int = 1, high: int = 30) -> int:
    if not low <= value <= high:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Must be between {low} and {high}.", field)
    return value


def clean_token(value: str) -> str:
    """Emailed tokens are url-safe base64; anything else can match nothing."""
    candidate = value.strip()
    if not 16 <= len(candidate) <= 100 or not re.fullmatch(r"[A-Za-z0-9_-]+", candidate):
        raise DomainError(ErrorCode.INVALID_TOKEN, "This link is not valid.", "token")
    return candidate


def check_list_size(values: Sequence[object], field: str, maximum: int = LIST_MAX) -> None:
    if len(values) > maximum:
        raise DomainError(ErrorCode.INVALID_INPUT, f"At most {maximum} items at once.", field)


DESCRIPTION_MAX = 1000


def clean_description(value: str | None, field: str = "description") -> str | None:
    """Free text such as a team's description: None or blank clears it; at most
    DESCRIPTION_MAX characters after trimming, newlines allowed, no other control
    characters."""
    if value is None or not value.strip():
        return None
    candidate = value.strip()
    if len(candidate) > DESCRIPTION_MAX or _has_control(candidate, allow_newlines=True):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"Descriptions are at most {DESCRIPTION_MAX} characters, without control characters.",
            field,
        )
    return candidate
