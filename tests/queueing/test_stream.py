"""Live queues (QU-02, QU-05): a screen's snapshot then events, resuming after a reconnection, filling a
gap from the log, desks, and the patient's phone (positions and a notice when called). Real commits:
the feeds read in transactions of their own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from ihos.db import commit
from ihos.models.patients import AccountPatient
from ihos.models.queueing import QueueEntry
from tests.factories import bearer, make_account, make_org, patient_token
from tests.queueing.conftest import API, Member, at, book, make_clinic, make_patient, member
from tests.queueing.wsclient import Closed, WebSocketSession


@dataclass
class Scene:
    bookings: list[str]
    nurse: Member
    doctor: Member
    office: Member
    queue_id: str
    screen_token: str
    patient_headers: dict[str, str]
    patient_token: str
    family_booking: str


async def scene(maker, http) -> Scene:  # type: ignore[no-untyped-def]
    """Four booked patients (the fourth held by a patient account); the first checked in; a room screen."""
    async with maker() as session:
        org = await make_org(session)
        clinic = await make_clinic(session, org)
        bookings = [await book(session, clinic) for _ in range(3)]
        account = await make_account(session)
        patient = await make_patient(session, name="欧阳小明")
        session.add(AccountPatient(account_id=account.id, patient_id=patient.id, relation="self"))
        family = await book(session, clinic, patient=patient)
        token = await patient_token(session, account)
        nurse = await member(session, org, "nurse")
        doctor = await member(session, org, "doctor")
        office = await member(session, org, "outpatient_office")
        await commit(session)
    at(7, 50)
    first = await http.post(
        f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(bookings[0].id)}
    )
    assert first.status_code == 201, first.text
    queue_id = first.json()["queue"]["id"]
    screen = await http.post(
        f"{API}/queue-screens", headers=office.headers, json={"name": "3诊室门口屏", "queue_id": queue_id}
    )
    assert screen.status_code == 201, screen.text
    return Scene(
        [str(b.id) for b in bookings],
        nurse,
        doctor,
        office,
        queue_id,
        screen.json()["token"],
        bearer(token),
        token,
        str(family.id),
    )


async def check_in(http, nurse, booking_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await http.post(
        f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": booking_id}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def live(own_database, real_http) -> Scene:  # type: ignore[no-untyped-def]
    return await scene(own_database, real_http)


class TestScreen:
    async def test_it_works(self, queue_app, real_http, live):
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": live.screen_token})
            hello = await ws.receive_json()
            assert (hello["type"], hello["screen"]["kind"]) == ("hello", "room")
            snapshot = await ws.receive_json()
            assert snapshot["type"] == "snapshot"
            [queue] = snapshot["queues"]
            assert (queue["queue"]["id"], queue["seq"]) == (live.queue_id, 1)
            assert [(e["number"], e["name"], e["state"]) for e in queue["entries"]] == [
                (1, "张*三", "waiting")
            ]
            await check_in(real_http, live.nurse, live.bookings[1])
            event = await ws.receive_json()
            assert (event["type"], event["kind"], event["seq"]) == ("event", "checked_in", 2)
            called = await real_http.post(
                f"{API}/queues/{live.queue_id}/call-next", headers=live.doctor.headers, json={}
            )
            assert called.status_code == 200
            event = await ws.receive_json()
            assert (event["kind"], event["seq"]) == ("called", 3)
            assert event["announcement"] == "请 1号 张*三 到 3诊室 就诊"
            assert event["entry"]["state"] == "called"
            assert event["entry"]["session_id"] == queue["entries"][0]["session_id"] is not None
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json()) == {"type": "pong"}

    async def test_resuming_after_a_reconnection(self, queue_app, real_http, live):
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": live.screen_token})
            snapshot = await ws.receive_until("snapshot")
        last = snapshot["queues"][0]["seq"]
        await check_in(real_http, live.nurse, live.bookings[1])
        await check_in(real_http, live.nurse, live.bookings[2])
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": live.screen_token, "after": {live.queue_id: last}})
            await ws.receive_until("hello")
            missed = [await ws.receive_json(), await ws.receive_json()]
            assert [(e["type"], e["seq"]) for e in missed] == [("event", 2), ("event", 3)]
            await ws.nothing_more()
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            # A client that knows a future the server does not: a fresh snapshot.
            await ws.send_json({"token": live.screen_token, "after": {live.queue_id: 99}})
            snapshot = await ws.receive_until("snapshot")
            assert snapshot["queues"][0]["seq"] == 3

    async def test_a_hall_screen_shows_a_room_opened_after_it_connected(
        self, queue_app, real_http, own_database, live
    ):
        from types import SimpleNamespace

        from ihos.models.queueing import Queue

        async with own_database() as session:
            room = await session.get_one(Queue, uuid.UUID(live.queue_id))
            place = SimpleNamespace(campus_id=room.campus_id, department_id=room.department_id)
            later = await book(session, await make_clinic(session, place, room="5诊室", name="内科专家门诊"))
            await commit(session)
        hall = await real_http.post(
            f"{API}/queue-screens",
            headers=live.office.headers,
            json={"name": "内科候诊大厅", "department_id": str(place.department_id)},
        )
        assert hall.status_code == 201, hall.text
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": hall.json()["token"]})
            assert (await ws.receive_until("hello"))["screen"]["kind"] == "hall"
            first = await ws.receive_json()
            assert [part["queue"]["id"] for part in first["queues"]] == [live.queue_id]
            # The first check-in to 5诊室 makes its queue: the hall screen shows it without reconnecting.
            opened = (await check_in(real_http, live.nurse, str(later.id)))["queue"]["id"]
            added = await ws.receive_json()
            assert added["type"] == "snapshot"
            [part] = added["queues"]
            assert (part["queue"]["id"], [e["name"] for e in part["entries"]]) == (opened, ["张*三"])
            # Both queues go on live, 3诊室 included.
            await check_in(real_http, live.nurse, live.bookings[1])
            event = await ws.receive_json()
            assert (event["queue_id"], event["kind"], event["seq"]) == (live.queue_id, "checked_in", 2)
            # The office switches 5诊室's queue off: its tile leaves the hall screen, 3诊室 goes on.
            off = await real_http.patch(
                f"{API}/queues/{opened}", headers=live.office.headers, json={"is_active": False}
            )
            assert off.status_code == 200, off.text
            assert await ws.receive_json() == {"type": "queue_removed", "queue_id": opened}
            await check_in(real_http, live.nurse, live.bookings[2])
            event = await ws.receive_json()
            assert (event["queue_id"], event["seq"]) == (live.queue_id, 3)
            await ws.nothing_more()

    async def test_a_lost_event_is_filled_from_the_log(self, queue_app, real_http, own_database, live):
        from ihos.models.queueing import Queue
        from ihos.queueing import events

        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": live.screen_token})
            await ws.receive_until("snapshot")
            async with own_database() as session:
                queue = await session.get_one(Queue, uuid.UUID(live.queue_id))
                entry = await session.scalar(select(QueueEntry).limit(1))
                await events.append(session, queue, "checked_in", entry)
                session.info.pop("after_commit")  # logged, never published: the hub lost it
                await commit(session)
            await check_in(real_http, live.nurse, live.bookings[1])
            received = [await ws.receive_json(), await ws.receive_json()]
            assert [e["seq"] for e in received] == [2, 3]

    async def test_a_wrong_or_missing_token(self, queue_app, live):
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": "ihs_nonsense"})
            refusal = await ws.receive_json()
            assert refusal["error"] == "screen_token_invalid"
            with pytest.raises(Closed) as closed:
                await ws.receive_json()
            assert closed.value.code == 4401
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"after": {}})
            assert (await ws.receive_json())["error"] == "auth_required"

    async def test_a_deactivated_screen(self, queue_app, real_http, live):
        [screen] = (await real_http.get(f"{API}/queue-screens", headers=live.office.headers)).json()
        await real_http.post(f"{API}/queue-screens/{screen['id']}/deactivate", headers=live.office.headers)
        async with WebSocketSession(queue_app, f"{API}/queue-stream/screen") as ws:
            await ws.send_json({"token": live.screen_token})
            assert (await ws.receive_json())["error"] == "screen_token_invalid"


class TestDesk:
    async def test_every_queue_live(self, queue_app, real_http, live):
        async with WebSocketSession(queue_app, f"{API}/queue-stream/staff") as ws:
            await ws.send_json({"token": live.doctor.token})
            hello = await ws.receive_json()
            assert [q["id"] for q in hello["queues"]] == [live.queue_id]
            snapshot = await ws.receive_json()
            assert snapshot["queues"][0]["entries"][0]["number"] == 1
            await check_in(real_http, live.nurse, live.bookings[1])
            assert (await ws.receive_json())["kind"] == "checked_in"

    async def test_who_may_watch(self, queue_app, own_database, live):
        async with own_database() as session:
            org = await make_org(session)
            pharmacist = await member(session, org, "pharmacist")
            other_campus_doctor = await member(session, org, "doctor")
            await commit(session)
        for token, error in [
            (pharmacist.token, "forbidden"),
            (live.patient_token, "staff_only"),
            ("not-a-token", "unauthenticated"),
        ]:
            async with WebSocketSession(queue_app, f"{API}/queue-stream/staff") as ws:
                await ws.send_json({"token": token})
                refusal = await ws.receive_json()
                assert refusal["error"] == error, refusal
        async with WebSocketSession(queue_app, f"{API}/queue-stream/staff") as ws:
            await ws.send_json({"token": other_campus_doctor.token, "queue_ids": ["not-a-uuid"]})
            assert (await ws.receive_json())["error"] == "queue_not_found"


class TestPatientPhone:
    async def test_position_updates_and_the_notice(self, queue_app, real_http, live):
        await check_in(real_http, live.nurse, live.bookings[1])
        mine = await real_http.post(
            f"{API}/me/queue-check-ins",
            headers=live.patient_headers,
            json={"booking_id": live.family_booking},
        )
        assert mine.status_code == 201, mine.text
        entry_id = mine.json()["entry"]["id"]
        async with WebSocketSession(queue_app, f"{API}/queue-stream/me") as ws:
            await ws.send_json({"token": live.patient_token})
            assert (await ws.receive_json())["type"] == "hello"
            positions = await ws.receive_json()
            [item] = positions["items"]
            assert (item["entry_id"], item["position"], item["patients_ahead"]) == (entry_id, 3, 2)
            assert item["estimated_wait_minutes"] == 30
            assert item["name"] == "欧**明"
            # Nobody else's entries reach the phone.
            assert set(positions) == {"type", "items"}
            await real_http.post(
                f"{API}/queues/{live.queue_id}/call-next", headers=live.doctor.headers, json={}
            )
            moved = await ws.receive_until("positions")
            assert moved["items"][0]["position"] == 2
            await real_http.post(f"{API}/queue-entries/{entry_id}/call", headers=live.doctor.headers, json={})
            notice = await ws.receive_until("notice")
            assert notice["text"] == "请 4号 欧**明 到 3诊室 就诊"
            called = await ws.receive_until("positions")
            assert (called["items"][0]["state"], called["items"][0]["called_to"]) == ("called", "3诊室")

    async def test_a_call_published_late_still_brings_the_notice(
        self, queue_app, real_http, own_database, live
    ):
        """Two doctors' workers may publish out of order: the phone sees the later event first, a gap. The
        call it skipped is in the log, and its notice must still reach the phone."""
        from ihos.queueing import calling

        mine = await real_http.post(
            f"{API}/me/queue-check-ins",
            headers=live.patient_headers,
            json={"booking_id": live.family_booking},
        )
        entry_id = mine.json()["entry"]["id"]
        async with WebSocketSession(queue_app, f"{API}/queue-stream/me") as ws:
            await ws.send_json({"token": live.patient_token})
            await ws.receive_until("positions")
            async with own_database() as session:
                await calling.call_entry(
                    session, live.doctor.caller, entry_id=uuid.UUID(entry_id), place=None
                )
                late = session.info.pop("after_commit")  # committed; its worker has not published yet
                await commit(session)
            called = await real_http.post(
                f"{API}/queues/{live.queue_id}/call-next", headers=live.doctor.headers, json={}
            )
            assert called.status_code == 200
            notice = await ws.receive_until("notice")
            assert (notice["entry_id"], notice["text"]) == (entry_id, "请 4号 欧**明 到 3诊室 就诊")
            for publish in late:
                await publish()
            [item] = (await ws.receive_until("positions"))["items"]
            assert item["state"] == "called"
            await ws.nothing_more()

    async def test_a_new_queue_joins_the_feed(self, queue_app, real_http, live):
        async with WebSocketSession(queue_app, f"{API}/queue-stream/me") as ws:
            await ws.send_json({"token": live.patient_token})
            await ws.receive_until("hello")
            assert (await ws.receive_json())["items"] == []
            checked = await real_http.post(
                f"{API}/me/queue-check-ins",
                headers=live.patient_headers,
                json={"booking_id": live.family_booking},
            )
            assert checked.status_code == 201
            [item] = (await ws.receive_until("positions"))["items"]
            assert (item["state"], item["position"]) == ("waiting", 2)

    async def test_staff_tokens_are_refused(self, queue_app, live):
        async with WebSocketSession(queue_app, f"{API}/queue-stream/me") as ws:
            await ws.send_json({"token": live.nurse.token})
            assert (await ws.receive_json())["error"] == "patients_only"
