"""A graphql-transport-ws client over a real WebSocket (the `websockets` package), for
tests of `Subscription.organizationEvents`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOL = "graphql-transport-ws"
EVENTS = """
subscription($id: ID!, $types: [String!]) {
  organizationEvents(organizationId: $id, types: $types) { id action targetId data }
}"""


class WsClosed(Exception):
    def __init__(self, code: int | None, reason: str):
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class GraphQLWs:
    """One connection: `init`, then `subscribe` operations and read their messages."""

    def __init__(self, socket: ClientConnection):
        self.socket = socket
        self.next_id = 0

    @classmethod
    async def open(cls, url: str, header: str | None = None) -> GraphQLWs:
        """Connect (with `header` as the upgrade request's Authorization when given)."""
        headers = {"Authorization": header} if header is not None else None
        socket = await websockets.connect(
            url, subprotocols=[PROTOCOL], additional_headers=headers, proxy=None
        )
        return cls(socket)

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(self.socket.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            rcvd = closed.rcvd
            raise WsClosed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from None
        return json.loads(raw)

    async def init(self, token: str | None = None, payload: dict[str, Any] | None = None) -> None:
        if payload is None:
            payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        message = await self.receive()
        assert message["type"] == "connection_ack", message

    async def subscribe(
        self, org_id: str, types: list[str] | None = None, query: str = EVENTS
    ) -> str:
        self.next_id += 1
        operation = str(self.next_id)
        variables: dict[str, Any] = {"id": org_id}
        if types is not None:
            variables["types"] = types
        await self.send(
            {
                "id": operation,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )
        return operation

    async def next_message(self, timeout: float = 10) -> dict[str, Any]:
        """The next message that is not a ping."""
        while True:
            message = await self.receive(timeout)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def event(self, timeout: float = 10) -> dict[str, Any]:
        """The next event delivered (asserting the message is a `next` with data)."""
        message = await self.next_message(timeout)
        assert message["type"] == "next" and "errors" not in message["payload"], message
        return message["payload"]["data"]["organizationEvents"]

    async def close(self) -> None:
        await self.socket.close()


def ws_url(client: Any) -> str:
    """The WebSocket URL of the aiohttp test client's server."""
    return f"ws://{client.host}:{client.port}/graphql"
