"""The search term of a list field, cleaned once for every list that takes one."""

from __future__ import annotations

from app.errors import DomainError, ErrorCode
from app.services.validation import NAME_MAX


def search_term(search: str | None) -> str | None:
    if search is None or not search.strip():
        return None
    if "\x00" in search:  # PostgreSQL text cannot hold NUL; nothing stored contains it
        raise DomainError(ErrorCode.INVALID_INPUT, "Search terms cannot contain NUL.", "search")
    return search.strip()[:NAME_MAX]
