"""GraphiQL in a real browser with every outside request blocked: it loads, runs a query
with the token from the headers editor, and shows the answer."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

from tests.browser.conftest import screenshot
from tests.support.api import sign_up


async def test_graphiql_works_offline(live, browser):
    person = await sign_up(live.client, email="explorer@example.com", name="Exa Plorer")
    outside: list[str] = []
    context = await browser.new_context()
    page = await context.new_page()

    async def only_this_server(route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(live.base_url).netloc:
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_this_server)
    query = "{ me { name email } }"
    headers = json.dumps({"Authorization": f"Bearer {person.token}"})
    await page.goto(
        f"{live.base_url}/graphql?q={quote(query)}&headers={quote(headers)}",
        wait_until="networkidle",
    )
    await page.wait_for_selector(".graphiql-container", timeout=15000)
    await page.click(".graphiql-execute-button")
    result = page.locator(".graphiql-response")
    await result.get_by_text("Exa Plorer").wait_for(timeout=15000)
    assert "explorer@example.com" in await result.inner_text()
    await screenshot(page, "graphiql")
    assert outside == []
    await context.close()
