"""Helpers for the booking tests beyond the hold: paying through the WeChat sandbox (its notification
reaches the app in-process, as in tests/billing), staff of every role, signed system-client requests,
the SMS inbox and the clock."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth import sessions, system_clients
from ihos.billing import sandbox
from ihos.integrations.payment import courier
from ihos.integrations.sms import list_inbox
from ihos.kit.ids import token
from ihos.kit.time import clock, hospital_zone, now
from ihos.models.accounts import Account
from ihos.models.audit import AuditEntry
from ihos.models.booking import Booking
from ihos.models.scheduling import Slot
from tests.booking.conftest import Booker, hold
from tests.factories import Org, bearer, make_staff, staff_token


@contextmanager
def payments_reach(app: Any) -> Iterator[None]:
    """Channel notifications reach the app in-process; every sandbox switch starts normal."""
    courier.transport = httpx.ASGITransport(app=app)
    sandbox.reset_controls()
    try:
        yield
    finally:
        courier.transport = None
        sandbox.reset_controls()


async def pay(
    client: httpx.AsyncClient, session: AsyncSession, run_jobs: Any, booker: Booker, booking_id: str
) -> str:
    """The patient pays the booking's fee in WeChat; the notification and the HIS write-back follow."""
    response = await client.post(
        f"/api/v1/me/bookings/{booking_id}/pay",
        headers=booker.headers,
        json={"channel": "wechat", "scene": "h5"},
    )
    assert response.status_code == 200, response.text
    order_number = response.json()["order"]["order_number"]
    await sandbox.simulate_payment(session, "wechat", order_number)
    await session.commit()
    await run_jobs()
    return str(order_number)


async def booked(
    client: httpx.AsyncClient, session: AsyncSession, run_jobs: Any, booker: Booker, clinic_id: Any
) -> str:
    """Hold and pay: the id of a confirmed booking."""
    held = await hold(client, booker, clinic_id)
    assert held.status_code == 201, held.text
    await pay(client, session, run_jobs, booker, held.json()["id"])
    return str(held.json()["id"])


async def staff_headers(session: AsyncSession, org: Org, *roles: str) -> dict[str, str]:
    staff = await make_staff(session, org, roles=list(roles))
    return bearer(await staff_token(session, staff))


async def signed_in_again(session: AsyncSession, staff_id: uuid.UUID) -> dict[str, str]:
    """A fresh session for a member of staff (theirs times out while the clock travels), by plain id:
    the ORM objects a refused request expired are not touched."""
    issued = await sessions.start(
        session, staff_id=staff_id, method="password", client_address="203.0.113.10", user_agent="pytest"
    )
    return bearer(issued.token)


async def phone_of(session: AsyncSession, booker: Booker) -> str:
    account = await session.get_one(Account, booker.account_id)
    assert account.phone is not None
    return account.phone


async def inbox(session: AsyncSession, phone: str) -> list[str]:
    """What the phone received, oldest first (deliver pending messages with ``run_jobs`` first)."""
    return [message.text for message in reversed(await list_inbox(session, phone=phone, limit=50))]


async def booking_of(session: AsyncSession, booking_id: Any) -> Booking:
    """The booking as the database has it now."""
    return await session.get_one(Booking, uuid.UUID(str(booking_id)), populate_existing=True)


async def slot_of(session: AsyncSession, booking_id: Any) -> Slot:
    booking = await booking_of(session, booking_id)
    return await session.get_one(Slot, booking.slot_id, populate_existing=True)


async def audit_actions(session: AsyncSession, target_id: str) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_id == target_id).order_by(AuditEntry.occurred_at)
    )
    return list(rows.all())


async def count(session: AsyncSession, model: Any, *conditions: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def local_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=hospital_zone())


def travel_to(at: datetime) -> None:
    clock.travel(at - now())


# ---------------------------------------------------------------------------------------------
# system clients


class SignedClient:
    """A HIS or kiosk calling with signed requests."""

    def __init__(self, client: httpx.AsyncClient, key_id: str, secret: str) -> None:
        self.client, self.key_id, self.secret = client, key_id, secret

    def headers(
        self, method: str, path: str, body: bytes, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        timestamp, nonce = str(int(now().timestamp())), token(12)
        return {
            "X-Ihos-Key": self.key_id,
            "X-Ihos-Timestamp": timestamp,
            "X-Ihos-Nonce": nonce,
            "X-Ihos-Signature": system_clients.sign(self.secret, method, path, timestamp, nonce, body),
            "Content-Type": "application/json",
            **(extra or {}),
        }

    async def get(self, path: str) -> httpx.Response:
        full = f"/api/v1{path}"
        return await self.client.get(full, headers=self.headers("GET", full, b""))

    async def post(
        self, path: str, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> httpx.Response:
        full, body = f"/api/v1{path}", json.dumps(payload).encode()
        return await self.client.post(full, content=body, headers=self.headers("POST", full, body, extra))


async def system_client(
    session: AsyncSession, client: httpx.AsyncClient, org: Org, *, kind: str, campus: bool = True
) -> SignedClient:
    issued = await system_clients.create_client(
        session, org.admin, name=f"测试{kind}", kind=kind, campus_id=org.campus_id if campus else None
    )
    return SignedClient(client, issued.client.key_id, issued.secret)


def days_from_now(days: int) -> timedelta:
    return timedelta(days=days)


async def headers_for(session: AsyncSession, org: Org, booker: Booker, who: str) -> dict[str, str]:
    """The authorisation matrix's cast: nobody, the patient, or staff in the role named ``who``."""
    if who == "anonymous":
        return {}
    if who == "patient":
        return booker.headers
    return await staff_headers(session, org, who)
