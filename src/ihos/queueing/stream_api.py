"""Live queues (QU-02, QU-05): WebSockets for screens, desks and phones, and the screens' REST snapshot.
The protocol is in ``ihos.queueing.stream`` and docs/developer/queue.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, WebSocket

from ihos.kit.http import DbSession
from ihos.queueing import stream, views
from ihos.queueing.schemas import ScreenSnapshotOut
from ihos.realtime.gateway import serve

router = APIRouter(tags=["queue-live"])


def _address(websocket: WebSocket) -> str:
    return websocket.client.host if websocket.client else "0.0.0.0"  # noqa: S104 - a label, not a bind


@router.websocket("/queue-stream/screen")
async def screen_stream(websocket: WebSocket) -> None:
    """A TV: first message ``{"token": screen token, "after": {queue id: seq}?}``."""
    await serve(websocket, lambda message: stream.open_screen_feed(websocket.app, message))


@router.websocket("/queue-stream/staff")
async def staff_stream(websocket: WebSocket) -> None:
    """A desk: first message ``{"token": sign-in token, "queue_ids": [...]?, "after": {...}?}``."""
    address = _address(websocket)
    await serve(websocket, lambda message: stream.open_staff_feed(websocket.app, message, address=address))


@router.websocket("/queue-stream/me")
async def patient_stream(websocket: WebSocket) -> None:
    """The patient app: first message ``{"token": sign-in token}``."""
    address = _address(websocket)
    await serve(websocket, lambda message: stream.open_patient_feed(websocket.app, message, address=address))


@router.get(
    "/queue-screen/snapshot", response_model=ScreenSnapshotOut, summary="叫号屏当前内容（凭叫号屏令牌）"
)
async def screen_snapshot(
    session: DbSession, x_screen_token: Annotated[str, Header(max_length=200, description="叫号屏令牌")]
) -> ScreenSnapshotOut:
    screen, queues = await stream.screen_snapshot(session, x_screen_token)
    return ScreenSnapshotOut.model_validate({"screen": views.screen_out(screen), "queues": queues})
