"""GraphiQL works without internet: every asset comes from this server, intact."""

from __future__ import annotations

import base64
import hashlib
import re

ASSET = re.compile(r'(?:src|href)="(/static/vendor/[^"]+)"\s+integrity="sha384-([^"]+)"')


async def test_graphiql_loads_only_local_assets_with_matching_integrity(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    html = await response.text()
    assert "unpkg.com" not in html and "https://" not in html.split("<script>")[0]
    assets = ASSET.findall(html)
    assert len(assets) == 7
    for path, integrity in assets:
        asset = await client.get(path)
        assert asset.status == 200, path
        digest = base64.b64encode(hashlib.sha384(await asset.read()).digest()).decode()
        assert digest == integrity, path
    assert "query MyOrganizations" in html


async def test_the_policy_lets_the_page_open_this_servers_websocket_only(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    policy = response.headers["Content-Security-Policy"]
    host = f"{client.host}:{client.port}"
    assert f"connect-src 'self' ws://{host} wss://{host};" in policy
    hostile = await client.get(
        "/graphql", headers={"Accept": "text/html", "Host": "evil.test; script-src *"}
    )
    assert "evil" not in hostile.headers["Content-Security-Policy"]
    assert "connect-src 'self';" in hostile.headers["Content-Security-Policy"]


async def test_the_vendored_graphiql_carries_a_graphql_ws_client(client):
    """Subscriptions need no asset beyond GraphiQL's own bundle: it includes the graphql-ws
    client (graphql-transport-ws), which the page's fetcher uses for `subscriptionUrl`."""
    html = await (await client.get("/graphql", headers={"Accept": "text/html"})).text()
    (path,) = re.findall(r'src="(/static/vendor/graphiql@[^"]+/graphiql\.min\.js)"', html)
    bundle = await (await client.get(path)).text()
    assert "graphql-ws/lib/client" in bundle and "graphql-transport-ws" in bundle
    assert "subscriptionUrl" in html
