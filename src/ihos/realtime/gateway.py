"""The WebSocket gateway's plumbing, shared by every live feed (queue screens, desks, phones).

A connection is accepted, then its first message must arrive within ``AUTH_TIMEOUT`` seconds and say who
is there (``{"token": …}`` plus what the feed needs, e.g. ``after``); tokens travel in a message, never in
the URL, so access logs do not keep them. ``open_feed`` turns that message into a ``Feed`` or raises
``Refused``. The feed then sends its messages until either side leaves; meanwhile the client may send
``{"type": "ping"}`` and gets ``{"type": "pong"}``.

Refusals are sent as ``{"type": "error", "error": code, "message": …}`` before the socket closes with an
application close code (4401 unauthenticated, 4403 forbidden, 4400 bad request, 4404 not found).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import WebSocket, WebSocketDisconnect

from ihos.errors import IhosError

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0
Send = Callable[[dict[str, Any]], Awaitable[None]]
CLOSE_CODES = {400: 4400, 401: 4401, 403: 4403, 404: 4404, 409: 4409}


class Feed(Protocol):
    async def run(self, send: Send) -> None:
        """Send messages until cancelled (the client left) or done."""


class Refused(Exception):
    def __init__(self, code: str, message: str, *, status: int = 401) -> None:
        self.code, self.message, self.status = code, message, status
        super().__init__(message)

    @classmethod
    def of(cls, error: IhosError) -> Refused:
        return cls(error.code, error.message, status=error.status)


async def serve(websocket: WebSocket, open_feed: Callable[[dict[str, Any]], Awaitable[Feed]]) -> None:
    """Accept, authenticate with the first message, then run the feed until either side leaves."""
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_json(), AUTH_TIMEOUT)
    except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError):
        await _close(websocket, Refused("auth_required", "请先发送认证消息", status=401))
        return
    if not isinstance(first, dict):
        await _close(websocket, Refused("invalid_request", "认证消息应为 JSON 对象", status=400))
        return
    try:
        feed = await open_feed(first)
    except Refused as refused:
        await _close(websocket, refused)
        return
    except IhosError as error:
        await _close(websocket, Refused.of(error))
        return

    # The feed and the pong answers share the socket: one frame at a time.
    lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_json(message)

    sending = asyncio.create_task(feed.run(send))
    listening = asyncio.create_task(_answer_pings(websocket, send))
    try:
        done, _pending = await asyncio.wait({sending, listening}, return_when=asyncio.FIRST_COMPLETED)
        if sending in done and sending.exception() is not None:
            failure = sending.exception()
            if not isinstance(failure, (WebSocketDisconnect, RuntimeError)):
                log.error("live feed failed", exc_info=failure)
    finally:
        for task in (sending, listening):
            task.cancel()
        for task in (sending, listening):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await websocket.close()


async def _answer_pings(websocket: WebSocket, send: Send) -> None:
    """Read what the client sends after the first message; returns when it leaves."""
    while True:
        try:
            message = await websocket.receive_json()
        except (WebSocketDisconnect, RuntimeError):
            return
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "ping":
            await send({"type": "pong"})


async def _close(websocket: WebSocket, refused: Refused) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_json({"type": "error", "error": refused.code, "message": refused.message})
    with contextlib.suppress(Exception):
        await websocket.close(code=CLOSE_CODES.get(refused.status, 4400))
