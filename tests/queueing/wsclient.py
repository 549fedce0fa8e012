"""A WebSocket client that talks ASGI to the application in the test's event loop (httpx's ASGI transport
has no WebSockets; Starlette's TestClient runs the app in another thread and loop)."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Closed(Exception):
    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"closed with {code}")


class WebSocketSession:
    def __init__(self, app: Any, path: str) -> None:
        self.app, self.path = app, path
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WebSocketSession:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("203.0.113.10", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.from_app.get(), 5)
        assert accepted["type"] == "websocket.accept", accepted
        return self

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive_json(self, timeout: float = 5) -> dict[str, Any]:
        message = await asyncio.wait_for(self.from_app.get(), timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000))
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])  # type: ignore[no-any-return]

    async def receive_until(self, kind: str, *, timeout: float = 5) -> dict[str, Any]:
        """The next message of type ``kind`` (other messages are skipped)."""
        while True:
            message = await self.receive_json(timeout)
            if message.get("type") == kind:
                return message

    async def nothing_more(self, wait: float = 0.2) -> None:
        await asyncio.sleep(wait)
        assert self.from_app.empty(), self.from_app.get_nowait()

    async def __aexit__(self, *_exc: object) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 5)
            except Exception:  # the app is gone either way
                self.task.cancel()
