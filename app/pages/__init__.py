"""Server-rendered pages for the links Roster mails (filled in by the link-pages feature)."""

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Routes for /invitations/accept, /password/reset, … are added by the link pages."""
