"""Verified domains and API keys: their types and mutations."""
