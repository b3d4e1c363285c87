"""GraphiQL in a real browser with every outside request blocked: it loads, runs a query
with the token from the headers editor, and shows the answer."""

from __future__ import annotations

import asyncio
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


async def test_graphiql_runs_a_subscription(live, browser):
    """The page's fetcher sends subscriptions over graphql-transport-ws (the graphql-ws
    client bundled in GraphiQL's own vendored asset), signed in with the headers editor's
    Authorization in connection_init; an event committed meanwhile shows in the result."""
    from app.services.event_stream import BROKER
    from tests.support.api import create_org, mutate

    org = await create_org(live.client, "Live Org")
    context = await browser.new_context()
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    query = (
        f'subscription {{ organizationEvents(organizationId: "{org.id}") {{ id action data }} }}'
    )
    headers = json.dumps({"Authorization": f"Bearer {org.owner.token}"})
    await page.goto(
        f"{live.base_url}/graphql?q={quote(query)}&headers={quote(headers)}",
        wait_until="networkidle",
    )
    await page.wait_for_selector(".graphiql-container", timeout=15000)
    await page.click(".graphiql-execute-button")
    for _ in range(500):
        if BROKER.open_subscriptions:
            break
        await asyncio.sleep(0.02)
    assert BROKER.open_subscriptions == 1
    await mutate(
        live.client,
        """mutation($input: UpdateOrganizationInput!) {
          updateOrganization(input: $input) { errors { code } } }""",
        {"input": {"organizationId": org.id, "name": "Seen Live"}},
        org.owner.token,
    )
    result = page.locator(".graphiql-response")
    await result.get_by_text("organization.updated").wait_for(timeout=15000)
    assert "Seen Live" in await result.inner_text()
    await screenshot(page, "graphiql-subscription")
    assert violations == []
    await context.close()
