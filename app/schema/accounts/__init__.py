"""Accounts: the User type, `me`, and the sign-up / log-in / reset mutations."""
