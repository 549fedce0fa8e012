"""How payment sandboxes deliver their notifications: as the real channels do, by POSTing the signed
notification to the notify URL, and trying again later when the answer is not a success.

Delivery goes through a background job, so a sandbox payment made in one request is notified after that
request commits, and a failed delivery is retried with backoff like WeChat Pay's and Alipay's resends.
Tests (and anything without a listening server) point ``transport`` at the application in-process.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.jobs import enqueue
from ihos.kit.time import now

JOB = "sandbox.payment_notification"

# Set by tests to ``httpx.ASGITransport(app)`` so that deliveries reach the app without a socket.
transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes


async def send_notification(
    session: AsyncSession, delivery: Delivery, *, delay: timedelta = timedelta(), copies: int = 1
) -> None:
    """Queue ``copies`` deliveries of one notification (a channel resends; tests ask for duplicates)."""
    payload = {
        "url": delivery.url,
        "headers": delivery.headers,
        "body": base64.b64encode(delivery.body).decode(),
    }
    for _ in range(copies):
        await enqueue(session, JOB, payload, due_at=now() + delay, max_attempts=8)


class NotificationNotAccepted(Exception):
    """The receiver did not acknowledge: the job retries, as the channel would."""


async def deliver(payload: dict[str, Any]) -> int:
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        response = await client.post(
            payload["url"], headers=payload["headers"], content=base64.b64decode(payload["body"])
        )
    if response.status_code >= 300:
        raise NotificationNotAccepted(
            f"{payload['url']} answered {response.status_code}: {response.text[:200]}"
        )
    return response.status_code
