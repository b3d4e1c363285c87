"""GraphiQL served with its assets from this server, so it works without internet."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web
from strawberry.http.ides import get_graphql_ide_html

VENDOR = Path(__file__).parent / "static" / "vendor"
ASSET_PREFIX = "/static/vendor/"

EXAMPLE = """# Welcome to Roster's GraphQL API.
#
# 1. Sign up (or use logIn) and copy the token from the answer:
#
#    mutation { signUp(input: {email: "you@example.com", password: "a long passphrase",
#                               name: "You"}) { token errors { code message } } }
#
# 2. Open "Headers" below and add:  {"Authorization": "Bearer <token>"}
# 3. Run this query (Ctrl-Enter). The Docs and Explorer panes list every type.

query MyOrganizations {
  me { id name email emailVerified }
  organizations(first: 10) {
    totalCount
    nodes { id name slug viewerRole }
  }
}
"""


@cache
def page() -> str:
    """Strawberry's GraphiQL page with local assets (same bytes, same integrity hashes)."""
    html = get_graphql_ide_html().replace("https://unpkg.com/", ASSET_PREFIX)
    start = html.index("const EXAMPLE_QUERY = `") + len("const EXAMPLE_QUERY = `")
    end = html.index("`;", start)
    return html[:start] + EXAMPLE.replace("`", "\\`") + html[end:]


def add_routes(app: web.Application) -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    app.router.add_static(ASSET_PREFIX, VENDOR, append_version=False)
