"""What the web layer and the link pages share about an HTTP request."""

from __future__ import annotations

from aiohttp import web


def client_ip(request: web.Request) -> str | None:
    """The address the request came from, as audit events record it."""
    return request.remote
