"""GraphiQL served with its assets from this server, so it works without internet."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache, lru_cache
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
#
# Subscriptions run here too, over this server's WebSocket (OWNER and ADMIN):
#    subscription { organizationEvents(organizationId: "<id>") { id action data } }

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


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


# A Host header that is a host name or address with an optional port, and nothing else
# (it is written into the policy).
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


@lru_cache(maxsize=64)
def content_security_policy(host: str | None = None) -> str:
    """Scripts from this server plus the page's own inline script (by its hash: no other
    inline script runs); styles also inline (GraphiQL and CodeMirror set them at run
    time); data: images (the icon) and fonts; fetches to this server only, and its
    WebSocket (subscriptions) named explicitly, as some browsers' 'self' does not cover
    ws:/wss:; no framing."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page())
    )
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "font-src 'self' data:; "
        f"connect-src 'self'{sockets}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def response(host: str | None = None) -> web.Response:
    """The page, with a Content-Security-Policy and framing refused (clickjacking); `host`
    is the request's Host, whose WebSocket the page may open."""
    return web.Response(
        text=page(),
        content_type="text/html",
        headers={
            "Content-Security-Policy": content_security_policy(host),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def add_routes(app: web.Application) -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    app.router.add_static(ASSET_PREFIX, VENDOR, append_version=False)
