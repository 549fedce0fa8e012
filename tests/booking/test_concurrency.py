"""The rush, for real: many bookers at once against few places, each request in its own session and
transaction. On SQLite and PostgreSQL: a place is never held twice, a patient never holds two places of
one session, a channel never takes more than its quota."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select, text

from ihos.auth.caller import command_line
from ihos.backoffice.rules import set_rule
from ihos.db import commit
from ihos.kit.time import local_today, now
from ihos.models.audit import AuditEntry
from ihos.models.booking import Booking
from ihos.models.scheduling import Slot
from tests.booking.conftest import Booker, released_session, verified_booker
from tests.factories import make_org

PLACES = 5
BOOKERS = 40


async def setup(maker, *, places: int, bookers: int, quotas: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
    async with maker() as session:
        org = await make_org(session)
        clinic = await released_session(session, org, capacity=places, quotas=quotas)
        people = [await verified_booker(session) for _ in range(bookers)]
        await commit(session)
    return str(clinic.id), people


async def book(http, who: Booker, clinic_id: str) -> str:  # type: ignore[no-untyped-def]
    response = await http.post(
        "/api/v1/me/bookings",
        headers=who.headers,
        json={"clinic_session_id": clinic_id, "patient_id": str(who.patient_id)},
    )
    return "booked" if response.status_code == 201 else response.json()["error"]


async def double_holds(maker) -> int:  # type: ignore[no-untyped-def]
    async with maker() as session:
        return int(
            await session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT slot_id FROM bookings WHERE state IN ('held', 'confirmed') "
                    "GROUP BY slot_id HAVING count(*) > 1) AS twice"
                )
            )
            or 0
        )


async def audited_places(maker) -> list[int]:  # type: ignore[no-untyped-def]
    """The place numbers the hold audit entries name (one entry per booking, written with it)."""
    async with maker() as session:
        entries = await session.scalars(select(AuditEntry).where(AuditEntry.action == "booking.hold"))
        return sorted(entry.details["seq"] for entry in entries.all())


async def booked_places(maker) -> list[int]:  # type: ignore[no-untyped-def]
    async with maker() as session:
        return sorted((await session.scalars(select(Booking.seq))).all())


class TestManyBookersFewPlaces:
    async def test_each_place_goes_to_exactly_one_booker(self, own_database, real_http):
        clinic_id, people = await setup(own_database, places=PLACES, bookers=BOOKERS)
        answers = Counter(await asyncio.gather(*(book(real_http, who, clinic_id) for who in people)))
        assert answers == {"booked": PLACES, "sold_out": BOOKERS - PLACES}
        async with own_database() as session:
            held = await session.scalar(select(func.count()).select_from(Slot).where(Slot.status == "held"))
            bookings = await session.scalar(select(func.count()).select_from(Booking))
            distinct_slots = await session.scalar(select(func.count(func.distinct(Booking.slot_id))))
        assert (held, bookings, distinct_slots) == (PLACES, PLACES, PLACES)
        assert await double_holds(own_database) == 0
        # Losers leave no trace: an audit entry for each booking, none for a refusal.
        assert await audited_places(own_database) == await booked_places(own_database) == [1, 2, 3, 4, 5]


class TestOnePatientRacingItself:
    async def test_ten_taps_hold_one_place(self, own_database, real_http):
        clinic_id, [who] = await setup(own_database, places=PLACES, bookers=1)
        answers = Counter(await asyncio.gather(*(book(real_http, who, clinic_id) for _ in range(10))))
        assert answers["booked"] == 1
        assert set(answers) <= {"booked", "already_booked"}
        async with own_database() as session:
            held = await session.scalar(select(func.count()).select_from(Slot).where(Slot.status == "held"))
        assert held == 1
        assert await audited_places(own_database) == await booked_places(own_database) == [1]


class TestDailyCap:
    async def test_taps_on_several_sessions_at_once_never_pass_the_cap(self, own_database, real_http):
        # Cap 2, six sessions the same day, one patient tapping all six at once: the patient's row lock
        # queues the taps, and each must count the bookings of the taps that went before it.
        async with own_database() as session:
            org = await make_org(session)
            day = local_today() + timedelta(days=2)
            clinics = [str((await released_session(session, org, capacity=2, day=day)).id) for _ in range(6)]
            who = await verified_booker(session)
            await set_rule(session, command_line(), "booking.daily_cap", 2)
            await commit(session)
        answers = Counter(await asyncio.gather(*(book(real_http, who, clinic_id) for clinic_id in clinics)))
        assert answers == {"booked": 2, "daily_cap_reached": 4}
        assert len(await booked_places(own_database)) == 2


class TestQuotas:
    async def test_a_channel_never_takes_more_than_its_quota_and_the_pool(self, own_database, real_http):
        # 6 places: 4 for the kiosk, 2 for the app. Before pool_at the app gets its 2 and the pool's 0.
        clinic_id, people = await setup(own_database, places=6, bookers=12, quotas={"kiosk": 4, "app": 2})
        answers = Counter(await asyncio.gather(*(book(real_http, who, clinic_id) for who in people)))
        assert answers == {"booked": 2, "sold_out": 10}
        async with own_database() as session:
            rows = await session.execute(
                select(Slot.channel, Slot.status).where(Slot.session_id == uuid.UUID(clinic_id))
            )
            taken = Counter(channel for channel, status in rows.all() if status == "held")
        assert taken == {"app": 2}

    async def test_a_channel_without_quota_books_from_the_pool(self, own_database, real_http):
        # 6 places, 4 for the kiosk: the app finds none of its own, then the pool's 2. A look that finds
        # nothing writes nothing; the one that finds a place writes one booking and one audit entry.
        clinic_id, people = await setup(own_database, places=6, bookers=12, quotas={"kiosk": 4})
        answers = Counter(await asyncio.gather(*(book(real_http, who, clinic_id) for who in people)))
        assert answers == {"booked": 2, "sold_out": 10}
        async with own_database() as session:
            rows = await session.execute(
                select(Slot.channel, Slot.seq).where(
                    Slot.session_id == uuid.UUID(clinic_id), Slot.status == "held"
                )
            )
            pooled = sorted(seq for channel, seq in rows.all() if channel == "pool")
        assert len(pooled) == 2
        assert await audited_places(own_database) == await booked_places(own_database) == pooled

    async def test_after_pool_at_the_unbooked_quotas_are_everyones(self, own_database, real_http):
        clinic_id, people = await setup(own_database, places=6, bookers=12, quotas={"kiosk": 4, "app": 2})
        async with own_database() as session:
            await session.execute(
                text("UPDATE clinic_sessions SET pool_at = :at"), {"at": now() - timedelta(minutes=1)}
            )
            await commit(session)
        answers = Counter(await asyncio.gather(*(book(real_http, who, clinic_id) for who in people)))
        assert answers == {"booked": 6, "sold_out": 6}
        assert await double_holds(own_database) == 0
        assert await audited_places(own_database) == await booked_places(own_database) == [1, 2, 3, 4, 5, 6]
