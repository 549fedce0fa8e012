"""Exam and lab queues fed by the HIS (QU-05, PT-15): the sandbox HIS records a doctor's order, the feed
reads it, the patient checks in at the station and is called there."""

from __future__ import annotations

from sqlalchemy import select

from ihos.integrations.his import cancel_exam_order, create_exam_order
from ihos.models.queueing import ExamOrder, QueueEntry, QueueFeedCursor
from ihos.queueing import orders
from tests.booking.support import count, system_client
from tests.factories import bearer, make_account, patient_token
from tests.queueing.conftest import API, at, make_patient


async def ct_order(session, patient, item: str = "胸部CT平扫"):  # type: ignore[no-untyped-def]
    return await create_exam_order(
        session,
        patient_id_number=patient.id_number,
        patient_name=patient.name,
        kind="exam",
        station_code="CT1",
        station_name="CT室",
        item_name=item,
        department="内科",
        doctor="王医生",
    )


async def ct_station(client, office, org) -> str:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"{API}/queues",
        headers=office.headers,
        json={"kind": "exam", "department_id": str(org.department_id), "code": "CT1", "name": "CT室"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestTheFeed:
    async def test_it_works(self, session):
        at(8, 0)
        patient = await make_patient(session, name="刘小洋")
        order = await ct_order(session, patient)
        assert await orders.read_his_orders(session) == 1
        [received] = (await session.scalars(select(ExamOrder))).all()
        assert (received.his_order_id, received.state, received.patient_id) == (
            order.his_order_id,
            "pending",
            patient.id,
        )
        assert (received.display_name, received.station_code, received.item_name) == (
            "刘*洋",
            "CT1",
            "胸部CT平扫",
        )
        # Read again: nothing new (the feed overlaps on purpose).
        assert await orders.read_his_orders(session) == 0
        assert await count(session, ExamOrder) == 1
        assert await session.get(QueueFeedCursor, orders.FEED) is not None

    async def test_the_sweep_reads_it(self, session, run_jobs):
        at(8, 0)
        await ct_order(session, await make_patient(session))
        await run_jobs()
        assert await count(session, ExamOrder) == 1

    async def test_an_order_for_someone_not_registered_yet(self, session):
        from tests.factories import id_number

        at(8, 0)
        number = id_number()
        await create_exam_order(
            session,
            patient_id_number=number,
            patient_name="新患者",
            kind="lab",
            station_code="LAB1",
            station_name="采血室",
            item_name="血常规",
        )
        await orders.read_his_orders(session)
        [received] = (await session.scalars(select(ExamOrder))).all()
        assert received.patient_id is None and received.kind == "lab"


class TestAtTheStation:
    async def test_it_works(self, session, client, org, office, doctor):
        at(8, 0)
        station = await ct_station(client, office, org)
        kiosk = await system_client(session, client, org, kind="kiosk")
        first, second = await make_patient(session, name="张小三"), await make_patient(session, name="李小四")
        numbers = first.id_number, second.id_number
        await ct_order(session, first)
        await ct_order(session, second)
        await ct_order(session, first, item="头颅CT平扫")
        await orders.read_his_orders(session)
        for number in numbers:
            response = await kiosk.post("/system/queue/check-ins", {"id_number": number, "queue_id": station})
            assert response.status_code == 201, response.text
        entries = (await session.scalars(select(QueueEntry).order_by(QueueEntry.sort_key))).all()
        assert [(e.display_number, e.kind, e.display_name) for e in entries] == [
            (1, "order", "张*三"),
            (2, "order", "李*四"),
        ]
        # Both of the first patient's orders are done in one visit.
        queued = (await session.scalars(select(ExamOrder).where(ExamOrder.state == "queued"))).all()
        assert len(queued) == 3 and len({o.entry_id for o in queued}) == 2
        called = await client.post(f"{API}/queues/{station}/call-next", headers=doctor.headers, json={})
        assert called.json()["announcement"] == "请 1号 张*三 到 CT室 检查"

    async def test_no_order_for_this_station(self, session, client, org, office):
        at(8, 0)
        station = await ct_station(client, office, org)
        kiosk = await system_client(session, client, org, kind="kiosk")
        patient = await make_patient(session)
        response = await kiosk.post(
            "/system/queue/check-ins", {"id_number": patient.id_number, "queue_id": station}
        )
        assert (response.status_code, response.json()["error"]) == (404, "no_order_here")

    async def test_a_cancelled_order_takes_the_patient_out(self, session, client, org, office, nurse):
        at(8, 0)
        station = await ct_station(client, office, org)
        patient = await make_patient(session)
        order = await ct_order(session, patient)
        await orders.read_his_orders(session)
        checked = await client.post(
            f"{API}/queue-check-ins",
            headers=nurse.headers,
            json={"id_number": patient.id_number, "queue_id": station},
        )
        assert checked.status_code == 201
        at(8, 5)
        assert await cancel_exam_order(session, order.his_order_id)
        assert await orders.read_his_orders(session) == 1
        entry = await session.scalar(select(QueueEntry).execution_options(populate_existing=True))
        assert (entry.state, entry.end_reason) == ("left", "order_cancelled")

    async def test_the_patient_sees_the_exam_queue(self, session, client, org, office):
        from ihos.models.patients import AccountPatient

        at(8, 0)
        station = await ct_station(client, office, org)
        account = await make_account(session)
        patient = await make_patient(session)
        session.add(AccountPatient(account_id=account.id, patient_id=patient.id, relation="self"))
        headers = bearer(await patient_token(session, account))
        kiosk = await system_client(session, client, org, kind="kiosk")
        await ct_order(session, patient)
        await orders.read_his_orders(session)
        before = (await client.get(f"{API}/me/queues", headers=headers)).json()
        assert before["items"] == []
        assert [o["station_name"] for o in before["pending_orders"]] == ["CT室"]
        await kiosk.post("/system/queue/check-ins", {"id_number": patient.id_number, "queue_id": station})
        after = (await client.get(f"{API}/me/queues", headers=headers)).json()
        [item] = after["items"]
        assert (item["queue"]["kind"], item["position"]) == ("exam", 1)
        assert [o["item_name"] for o in item["orders"]] == ["胸部CT平扫"]
        assert after["pending_orders"] == []
