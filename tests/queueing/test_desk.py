"""The outpatient office and the desks: queues and their counts, any day's history, the event log, the
rules (per queue, per department, hospital defaults), screens and their tokens, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.models.audit import AuditEntry
from ihos.models.queueing import Queue, QueueEntry, QueueScreen
from tests.booking.support import count
from tests.factories import bearer, make_account, patient_token
from tests.queueing.conftest import API, at, book, member


async def one_checked_in(session, client, clinic, nurse) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    booking = await book(session, clinic)
    at(7, 30)
    response = await client.post(
        f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(booking.id)}
    )
    assert response.status_code == 201, response.text
    return response.json()["queue"]["id"], response.json()["entry"]["id"]


async def audited(session, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())


class TestQueues:
    async def test_it_works(self, session, client, org, office):
        response = await client.post(
            f"{API}/queues",
            headers=office.headers,
            json={
                "kind": "room",
                "department_id": str(org.department_id),
                "code": "3诊室",
                "name": "内科 3诊室",
            },
        )
        assert response.status_code == 201, response.text
        assert (response.json()["place"], response.json()["kind"]) == ("内科 3诊室", "room")
        again = await client.post(
            f"{API}/queues",
            headers=office.headers,
            json={"kind": "room", "department_id": str(org.department_id), "code": "3诊室", "name": "重复"},
        )
        assert (again.status_code, again.json()["error"]) == (409, "queue_exists")
        changed = await client.patch(
            f"{API}/queues/{response.json()['id']}", headers=office.headers, json={"place": "3号诊室"}
        )
        assert changed.json()["place"] == "3号诊室"
        [entry] = await audited(session, "queue.update")
        assert entry.details == {"place": ["内科 3诊室", "3号诊室"]}

    async def test_a_room_made_ahead_is_the_one_patients_join(
        self, session, client, org, clinic, office, nurse
    ):
        made = await client.post(
            f"{API}/queues",
            headers=office.headers,
            json={"kind": "room", "department_id": str(org.department_id), "code": "3诊室", "name": "3诊室"},
        )
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        assert queue_id == made.json()["id"]

    async def test_counts_history_and_events(self, session, client, clinic, nurse, doctor):
        queue_id, entry_id = await one_checked_in(session, client, clinic, nurse)
        await client.post(f"{API}/queue-entries/{entry_id}/call", headers=doctor.headers, json={})
        [listed] = (await client.get(f"{API}/queues", headers=doctor.headers)).json()
        assert (listed["queue"]["id"], listed["called"], listed["waiting"]) == (queue_id, 1, 0)
        day = clinic.session_date.isoformat()
        at(9, 0, day=clinic.session_date + timedelta(days=1))
        today = (await client.get(f"{API}/queues/{queue_id}/entries", headers=doctor.headers)).json()
        assert today == []
        history = (
            await client.get(f"{API}/queues/{queue_id}/entries?date={day}", headers=doctor.headers)
        ).json()
        assert [(e["id"], e["state"]) for e in history] == [(entry_id, "called")]
        log = (await client.get(f"{API}/queues/{queue_id}/events?after=1", headers=doctor.headers)).json()
        assert [(e["seq"], e["kind"]) for e in log] == [(2, "called")]

    async def test_an_inactive_queue_takes_no_call(self, session, client, clinic, office, nurse, doctor):
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        await client.patch(f"{API}/queues/{queue_id}", headers=office.headers, json={"is_active": False})
        refused = await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        assert refused.json()["error"] == "queue_inactive"


class TestMyQueues:
    async def test_it_works(self, session, client, clinic, nurse, doctor):
        clinic.doctor_id = doctor.id
        await session.flush()
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        response = await client.get(f"{API}/queues/mine", headers=doctor.headers)
        assert response.status_code == 200, response.text
        assert [(q["queue"]["id"], q["waiting"]) for q in response.json()] == [(queue_id, 1)]

    async def test_only_the_callers_open_sessions_of_today(self, session, client, clinic, nurse, doctor):
        await one_checked_in(session, client, clinic, nurse)
        other = await client.get(f"{API}/queues/mine", headers=doctor.headers)
        assert other.json() == []
        clinic.doctor_id = doctor.id
        await session.flush()
        at(9, 0, day=clinic.session_date + timedelta(days=1))
        assert (await client.get(f"{API}/queues/mine", headers=doctor.headers)).json() == []

    async def test_a_patient_may_not(self, session, client):
        account = await make_account(session)
        response = await client.get(
            f"{API}/queues/mine", headers=bearer(await patient_token(session, account))
        )
        assert response.status_code in (401, 403)


class TestRules:
    async def test_a_queue_of_its_own(self, session, client, clinic, office, nurse):
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        shown = (await client.get(f"{API}/queues/{queue_id}/rules", headers=office.headers)).json()
        assert shown["effective"]["miss_back"] == 3 and shown["overrides"]["miss_back"] is None
        response = await client.put(
            f"{API}/queues/{queue_id}/rules",
            headers=office.headers,
            json={"miss_back": 1, "late_policy": "after_next", "checkin_open_minutes": 20},
        )
        assert response.status_code == 200, response.text
        effective = response.json()["effective"]
        assert (effective["miss_back"], effective["late_policy"], effective["max_misses"]) == (
            1,
            "after_next",
            2,
        )
        [entry] = await audited(session, "queue.rules_update")
        assert entry.details["new"] == {
            "miss_back": 1,
            "late_policy": "after_next",
            "checkin_open_minutes": 20,
        }
        bad = await client.put(
            f"{API}/queues/{queue_id}/rules", headers=office.headers, json={"miss_back": 99}
        )
        assert bad.status_code == 422
        unknown = await client.put(
            f"{API}/queues/{queue_id}/rules", headers=office.headers, json={"reason": "x"}
        )
        assert unknown.status_code == 422

    async def test_the_window_follows_the_rules(self, session, client, clinic, office, nurse):
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        await client.put(
            f"{API}/queues/{queue_id}/rules", headers=office.headers, json={"checkin_open_minutes": 10}
        )
        later = await book(session, clinic)  # 08:00 segment, number 2
        at(7, 45)
        response = await client.post(
            f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(later.id)}
        )
        assert (response.json()["error"], "07:50" in response.json()["message"]) == (
            "checkin_too_early",
            True,
        )

    async def test_hospital_and_department_defaults(self, session, client, org, office):
        listed = (await client.get(f"{API}/queue-rules", headers=office.headers)).json()
        assert {r["key"] for r in listed} >= {
            "queue.miss_back",
            "queue.late_policy",
            "queue.checkin_open_minutes",
        }
        assert all(r["key"].startswith("queue.") for r in listed)
        changed = await client.put(
            f"{API}/queue-rules/queue.miss_back", headers=office.headers, json={"value": 5}
        )
        assert changed.json()["value"] == 5
        refused = await client.put(
            f"{API}/queue-rules/booking.daily_cap", headers=office.headers, json={"value": 5}
        )
        assert refused.json()["error"] == "not_a_queue_rule"
        path = f"{API}/departments/{org.department_id}/queue-rules/queue.miss_back"
        department = await client.put(path, headers=office.headers, json={"value": 2})
        assert (department.json()["value"], department.json()["is_overridden"]) == (2, True)
        cleared = await client.put(path, headers=office.headers, json={"value": None})
        assert (cleared.json()["value"], cleared.json()["is_overridden"]) == (5, False)
        out_of_bounds = await client.put(
            f"{API}/queue-rules/queue.max_misses", headers=office.headers, json={"value": 0}
        )
        assert out_of_bounds.json()["error"] == "invalid_rule_value"


class TestScreens:
    async def test_it_works(self, session, client, org, clinic, office, nurse):
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        created = await client.post(
            f"{API}/queue-screens", headers=office.headers, json={"name": "3诊室门口", "queue_id": queue_id}
        )
        assert created.status_code == 201
        token = created.json()["token"]
        stored = await session.scalar(select(QueueScreen))
        assert stored.token_hash != token and token not in str(stored.__dict__)
        listed = (await client.get(f"{API}/queue-screens", headers=office.headers)).json()
        assert "token" not in listed[0]
        snapshot = await client.get(f"{API}/queue-screen/snapshot", headers={"X-Screen-Token": token})
        assert snapshot.status_code == 200
        [queue] = snapshot.json()["queues"]
        assert [e["name"] for e in queue["entries"]] == ["张*三"]
        renewed = await client.post(
            f"{API}/queue-screens/{created.json()['id']}/renew", headers=office.headers
        )
        old = await client.get(f"{API}/queue-screen/snapshot", headers={"X-Screen-Token": token})
        assert (old.status_code, old.json()["error"]) == (401, "screen_token_invalid")
        new = await client.get(
            f"{API}/queue-screen/snapshot", headers={"X-Screen-Token": renewed.json()["token"]}
        )
        assert new.status_code == 200

    async def test_a_hall_screen_shows_the_departments_queues(
        self, session, client, org, clinic, office, nurse
    ):
        await one_checked_in(session, client, clinic, nurse)
        created = await client.post(
            f"{API}/queue-screens",
            headers=office.headers,
            json={"name": "内科大厅", "department_id": str(org.department_id)},
        )
        snapshot = await client.get(
            f"{API}/queue-screen/snapshot", headers={"X-Screen-Token": created.json()["token"]}
        )
        assert [q["queue"]["place"] for q in snapshot.json()["queues"]] == ["3诊室"]

    async def test_it_admin_may_register_screens(self, session, client, org, clinic, nurse):
        queue_id, _entry = await one_checked_in(session, client, clinic, nurse)
        admin = await member(session, org, "system_admin")
        created = await client.post(
            f"{API}/queue-screens", headers=admin.headers, json={"name": "大屏", "queue_id": queue_id}
        )
        assert created.status_code == 201
        # IT lists the queues to bind a screen (names and counts, no patients).
        listed = await client.get(f"{API}/queues", headers=admin.headers)
        assert [item["queue"]["id"] for item in listed.json()] == [queue_id]
        entries = await client.get(f"{API}/queues/{queue_id}/entries", headers=admin.headers)
        assert entries.status_code == 403

    async def test_one_binding(self, client, office, org):
        both = await client.post(f"{API}/queue-screens", headers=office.headers, json={"name": "x"})
        assert both.status_code == 422


# -- who may do what ------------------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/queues", None, "doctor"),
    ("GET", "/queues/mine", None, "doctor"),
    (
        "POST",
        "/queues",
        {"kind": "hall", "department_id": "{department}", "code": "h", "name": "大厅"},
        "outpatient_office",
    ),
    ("GET", "/queues/{queue}/entries", None, "nurse"),
    ("PUT", "/queues/{queue}/rules", {"miss_back": 1}, "outpatient_office"),
    ("POST", "/queue-check-ins", {"booking_id": "{booking}"}, "nurse"),
    ("POST", "/queues/{queue}/call-next", {}, "doctor"),
    ("POST", "/queue-entries/{entry}/remove", None, "nurse"),
    ("GET", "/queue-rules", None, "outpatient_office"),
    ("GET", "/queue-screens", None, "outpatient_office"),
]


class TestWhoMay:
    @pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
    async def test_the_matrix(self, session, client, org, clinic, nurse, method, path, body, allowed):
        queue_id, entry_id = await one_checked_in(session, client, clinic, nurse)
        fresh = await book(session, clinic)
        values = {
            "queue": queue_id,
            "entry": entry_id,
            "booking": str(fresh.id),
            "department": str(org.department_id),
        }
        url = API + path.format(**values)
        payload = (
            {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()} if body else None
        )
        patient = bearer(await patient_token(session, await make_account(session)))
        cast = {
            "anonymous": ({}, 401),
            "patient": (patient, 403),
            "pharmacist": ((await member(session, org, "pharmacist")).headers, 403),
            allowed: ((await member(session, org, allowed)).headers, None),
        }
        before = (await count(session, QueueEntry), await count(session, Queue))
        for who, (headers, refused) in cast.items():
            response = await client.request(method, url, headers=headers, json=payload)
            if refused is not None:
                assert response.status_code == refused, (who, response.text)
                assert (await count(session, QueueEntry), await count(session, Queue)) == before
            else:
                assert response.status_code in (200, 201), (who, response.text)
