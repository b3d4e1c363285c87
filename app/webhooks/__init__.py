"""Outgoing webhooks (Standard Webhooks 1.0): the outbox rows, signing secrets, the
address rules (SSRF), the sender and the worker. A foundation package: it knows the models
and the settings, nothing of services."""
