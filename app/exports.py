"""CSV / JSONL exports for HR systems and compliance (filled in with the audit trail)."""

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Routes are added by the exports feature."""
