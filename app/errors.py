"""Domain errors: what a service raises when a rule refuses a change.

The GraphQL layer turns a DomainError into `errors: [UserError!]!` inside the
mutation payload; nothing else needs to know about GraphQL.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN_ROLE = "FORBIDDEN_ROLE"
    INVALID_EMAIL = "INVALID_EMAIL"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    SLUG_TAKEN = "SLUG_TAKEN"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    ALREADY_INVITED = "ALREADY_INVITED"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
    DOMAIN_NOT_ALLOWED = "DOMAIN_NOT_ALLOWED"
    SEAT_LIMIT_REACHED = "SEAT_LIMIT_REACHED"
    OWNER_PROTECTED = "OWNER_PROTECTED"
    LAST_ADMIN = "LAST_ADMIN"
    SELF_ACTION = "SELF_ACTION"
    MEMBER_REMOVED = "MEMBER_REMOVED"
    INVITATION_NOT_PENDING = "INVITATION_NOT_PENDING"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_EMAIL_MISMATCH = "INVITATION_EMAIL_MISMATCH"
    INVALID_TOKEN = "INVALID_TOKEN"
    TRANSFER_TARGET_INVALID = "TRANSFER_TARGET_INVALID"
    CONFIRMATION_MISMATCH = "CONFIRMATION_MISMATCH"
    DOMAIN_TAKEN = "DOMAIN_TAKEN"
    RATE_LIMITED = "RATE_LIMITED"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    # Contract part 2: SCIM and the access lifecycle.
    SCIM_MANAGED = "SCIM_MANAGED"
    ALREADY_REQUESTED = "ALREADY_REQUESTED"
    JOIN_NOT_ALLOWED = "JOIN_NOT_ALLOWED"
    REQUEST_NOT_PENDING = "REQUEST_NOT_PENDING"
    # A role refusal raised while reading (a top-level error, as the permission classes').
    FORBIDDEN = "FORBIDDEN"
    # Additions beyond the contract's list.
    MEMBER_INACTIVE = "MEMBER_INACTIVE"
    INVITATION_NOT_DELETABLE = "INVITATION_NOT_DELETABLE"


class DomainError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: list[str] | str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = [field] if isinstance(field, str) else field


def not_found(what: str, field: str | list[str] | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found.", field)
