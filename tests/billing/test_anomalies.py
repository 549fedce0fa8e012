"""Abnormal orders (FI-03): found by the detection sweep or where they happen, flagged once, handled by
finance with a note. Late payments after close and payments made twice: test_payment_truth.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from ihos.billing import anomalies, tasks
from ihos.config import get_settings
from ihos.integrations.his import (
    ChargeWriteBack,
    ClinicBillLine,
    HisError,
    cancel_clinic_bill,
    create_clinic_bill,
    his_payments,
)
from ihos.integrations.his.sandbox import control as his
from ihos.integrations.payment.wechat.sandbox import control as wechat
from ihos.kit.time import clock, now
from ihos.models.billing import Anomaly
from ihos.models.patients import Patient
from ihos.models.sandbox_hospital import SandboxHisCharge
from tests.billing.conftest import ZHANG_WEI, make_order, paid
from tests.billing.test_refunds import (
    approve,
    clerk,
    execute,
    finance_desk,
    paid_order,
    reload_order,
    reload_refund,
    requested,
)


async def flagged(session: Any, kind: str | None = None) -> list[Anomaly]:
    query = select(Anomaly).order_by(Anomaly.created_at).execution_options(populate_existing=True)
    if kind is not None:
        query = query.where(Anomaly.kind == kind)
    return list((await session.scalars(query)).all())


async def detect_later(run_jobs: Any, minutes: int) -> None:
    """Time passes; the sweeps (detection every five minutes) and due jobs run."""
    clock.travel(timedelta(minutes=minutes))
    await run_jobs()


async def charge_as_sent(session: Any, number: str) -> ChargeWriteBack:
    """The write-back ihos sends the HIS for a paid order."""
    order = await reload_order(session, number)
    patient = await session.get_one(Patient, order.patient_id)
    return ChargeWriteBack(
        order_number=order.order_number,
        patient_id_number=patient.id_number,
        patient_name=patient.name,
        business_kind=order.business_kind,
        business_reference=order.business_reference or "",
        channel=order.channel or "",
        transaction_id=order.transaction_id or "",
        amount_fen=order.paid_fen,
        paid_at=order.paid_at or now(),
    )


def the_his(session: Any) -> Any:
    return his_payments(session, get_settings().integrations.his)


async def his_bill(session: Any) -> Any:
    """A doctor's bill of 35.00 for 张伟 in the HIS."""
    return await create_clinic_bill(
        session,
        ZHANG_WEI["id_number"],
        [ClinicBillLine("JC0101", "增强CT", 1, 3_500, 3_500)],
        "内科",
        "王医生",
    )


async def order_for_bill(client: Any, payer: Any, his_bill_id: str) -> str:
    listed = await client.get("/api/v1/me/clinic-bills", headers=payer.headers)
    bill_id = next(b["id"] for b in listed.json() if b["his_bill_id"] == his_bill_id)
    made = await client.post(f"/api/v1/me/clinic-bills/{bill_id}/order", headers=payer.headers)
    number: str = made.json()["order_number"]
    return number


class TestPaidNotWritten:
    async def test_it_works(self, session, client, run_jobs, payer):
        """The HIS keeps refusing the write-back as busy: ten minutes after payment it is flagged."""
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        his.fail_next_write_backs(1_000)
        await paid(client, session, run_jobs, payer, number)

        await detect_later(run_jobs, 9)
        assert await flagged(session) == []
        await detect_later(run_jobs, 5)

        order = await reload_order(session, number)
        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.order_id, anomaly.state, anomaly.refund_id) == (
            "paid_not_written",
            order.id,
            "open",
            None,
        )
        assert order.his_state == "pending"

    async def test_it_is_flagged_once(self, session, client, run_jobs, payer):
        number = (await make_order(session, payer)).order_number
        his.fail_next_write_backs(1_000)
        await paid(client, session, run_jobs, payer, number)

        for _ in range(4):
            await detect_later(run_jobs, 11)

        assert [a.kind for a in await flagged(session)] == ["paid_not_written"]

    async def test_a_write_back_the_his_refuses_for_good(self, session, client, run_jobs, payer):
        """The doctor withdrew the bill after the patient opened the payment: the HIS refuses the
        write-back (bill_cancelled), the job stops, the order is flagged."""
        bill = await his_bill(session)
        number = await order_for_bill(client, payer, bill.his_bill_id)
        assert await cancel_clinic_bill(session, bill.his_bill_id)

        await paid(client, session, run_jobs, payer, number)
        await detect_later(run_jobs, 11)

        order = await reload_order(session, number)
        assert (order.state, order.his_state) == ("paid", "pending")
        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.order_id) == ("paid_not_written", order.id)

    async def test_a_lost_answer_is_healed_not_flagged(self, session, client, run_jobs, payer):
        """The HIS recorded the charge but ihos saw a timeout: detection finds the HIS's receipt and
        finishes the write-back instead of flagging it."""
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        his.fail_next_write_backs(1)  # the write-back job fails once and waits for its retry
        await paid(client, session, run_jobs, payer, number)
        with his.failing("lost_answer"), pytest.raises(HisError):
            await the_his(session).write_back_charge(await charge_as_sent(session, number))
        [recorded] = (await session.scalars(select(SandboxHisCharge))).all()
        receipt = recorded.receipt_number
        clock.travel(timedelta(minutes=11))

        await tasks.detect_anomalies(session)

        order = await reload_order(session, number)
        assert (order.his_state, order.his_receipt_number) == ("written", receipt)
        assert await flagged(session) == []
        await run_jobs()
        assert await session.scalar(select(func.count()).select_from(SandboxHisCharge)) == 1
        assert (await reload_order(session, number)).his_receipt_number == receipt

    async def test_another_charge_under_the_order_number_is_flagged(self, session, client, run_jobs, payer):
        """The HIS has a charge for this order number, but not this one: healing is refused, a person
        must look."""
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        his.fail_next_write_backs(1)
        await paid(client, session, run_jobs, payer, number)
        sent = await charge_as_sent(session, number)
        await the_his(session).write_back_charge(replace(sent, transaction_id="4200000000000000000000009999"))
        clock.travel(timedelta(minutes=11))

        await tasks.detect_anomalies(session)

        order = await reload_order(session, number)
        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.order_id, anomaly.details["his_error"]) == (
            "paid_not_written",
            order.id,
            "order_conflict",
        )
        assert order.his_state == "pending"

    async def test_the_oldest_are_not_in_the_way_of_the_newest(
        self, session, client, run_jobs, payer, monkeypatch
    ):
        """Orders already flagged (and still not written) do not use up the detection batch."""
        monkeypatch.setattr(anomalies, "DETECT_BATCH", 1)
        his.fail_next_write_backs(1_000)
        first = await paid_order(session, client, run_jobs, payer)
        await detect_later(run_jobs, 11)
        second = await paid_order(session, client, run_jobs, payer)

        await detect_later(run_jobs, 11)

        orders = [(await reload_order(session, n)).id for n in (first, second)]
        assert [(a.kind, a.order_id) for a in await flagged(session)] == [
            ("paid_not_written", orders[0]),
            ("paid_not_written", orders[1]),
        ]

    async def test_a_written_order_is_not_flagged(self, session, client, run_jobs, payer):
        await paid_order(session, client, run_jobs, payer)

        await detect_later(run_jobs, 11)

        assert await flagged(session) == []


class TestWrittenNotPaid:
    async def test_it_works(self, session, client, run_jobs, payer):
        """An order closed after its hold time while the HIS has a charge for it."""
        number = (await make_order(session, payer)).order_number
        await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "wechat"}
        )
        await detect_later(run_jobs, 16)
        order = await reload_order(session, number)
        assert order.state == "closed"
        receipt = await the_his(session).write_back_charge(
            ChargeWriteBack(
                order_number=number,
                patient_id_number=ZHANG_WEI["id_number"],
                patient_name=ZHANG_WEI["name"],
                business_kind="exam",
                business_reference="",
                channel="wechat",
                transaction_id="4200000000000000000000000001",
                amount_fen=3_500,
                paid_at=now(),
            )
        )

        await detect_later(run_jobs, 5)

        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.order_id, anomaly.details) == (
            "written_not_paid",
            order.id,
            {"his_receipt": receipt.his_receipt_number},
        )
        await detect_later(run_jobs, 5)
        assert len(await flagged(session)) == 1

    async def test_a_closed_order_the_his_does_not_know_is_not_flagged(
        self, session, client, run_jobs, payer
    ):
        number = (await make_order(session, payer)).order_number
        await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "wechat"}
        )

        await detect_later(run_jobs, 16)
        await detect_later(run_jobs, 5)

        assert (await reload_order(session, number)).state == "closed"
        assert await flagged(session) == []


class TestAmountMismatch:
    async def test_it_works(self, session, client, run_jobs, payer):
        number = (await make_order(session, payer)).order_number

        with wechat.paying(3_000), wechat.duplicating(3):
            await paid(client, session, run_jobs, payer, number)

        order = await reload_order(session, number)
        assert (order.state, order.payable_fen, order.paid_fen) == ("paid", 3_500, 3_000)
        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.order_id, anomaly.details) == (
            "amount_mismatch",
            order.id,
            {"expected_fen": 3_500, "paid_fen": 3_000},
        )

    async def test_the_right_amount_is_not_flagged(self, session, client, run_jobs, payer):
        await paid_order(session, client, run_jobs, payer)

        assert await flagged(session) == []


class TestRefundStuck:
    async def test_it_works(self, session, client, run_jobs, payer):
        """WeChat keeps the refund ABNORMAL (the payer's card was closed): after an hour it is flagged."""
        desk = await finance_desk(session)
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 1_000)
        await approve(client, desk.finance, refund_id)
        await execute(client, desk.cashier, refund_id)

        with wechat.refunding(outcome="ABNORMAL"):
            await run_jobs()
            await detect_later(run_jobs, 55)
            assert await flagged(session) == []
            await detect_later(run_jobs, 6)
            await detect_later(run_jobs, 6)

        refund = await reload_refund(session, refund_id)
        assert refund.state == "executing"
        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.refund_id, anomaly.order_id, anomaly.details) == (
            "refund_stuck",
            refund.id,
            refund.order_id,
            {"state": "executing"},
        )

    async def test_a_refund_the_channel_never_accepts(self, session, client, run_jobs, payer):
        """WeChat answers SYSTEM_ERROR to every attempt: the refund stays approved, its money reserved;
        an hour after it was sent for execution it is flagged."""
        desk = await finance_desk(session)
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 1_000)
        await approve(client, desk.finance, refund_id)

        with wechat.failing("system_error"):
            await execute(client, desk.cashier, refund_id)
            await run_jobs()
            for _ in range(5):
                await detect_later(run_jobs, 11)
            assert await flagged(session) == []
            await detect_later(run_jobs, 11)

        refund = await reload_refund(session, refund_id)
        assert refund.state == "approved"
        [anomaly] = await flagged(session)
        assert (anomaly.kind, anomaly.refund_id, anomaly.details) == (
            "refund_stuck",
            refund.id,
            {"state": "approved"},
        )

    async def test_an_approved_refund_waiting_for_the_cashier_is_not_stuck(
        self, session, client, run_jobs, payer
    ):
        desk = await finance_desk(session)
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 1_000)
        await approve(client, desk.finance, refund_id)

        await detect_later(run_jobs, 61)
        await detect_later(run_jobs, 5)

        assert (await reload_refund(session, refund_id)).state == "approved"
        assert await flagged(session) == []


class TestHandle:
    async def _anomaly(self, session, client, run_jobs, payer) -> str:
        number = (await make_order(session, payer)).order_number
        with wechat.paying(3_000):
            await paid(client, session, run_jobs, payer, number)
        [anomaly] = await flagged(session)
        return str(anomaly.id)

    async def test_it_works(self, session, client, run_jobs, payer):
        anomaly_id = await self._anomaly(session, client, run_jobs, payer)
        desk = await finance_desk(session)

        response = await client.post(
            f"/api/v1/finance/anomalies/{anomaly_id}/handle",
            headers=desk.finance.headers,
            json={"note": "已联系患者补缴5元"},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["note"], body["kind"], body["kind_label"]) == (
            "handled",
            "已联系患者补缴5元",
            "amount_mismatch",
            "支付金额与订单不符",
        )
        assert body["handled_by"] == {"id": str(desk.finance.id), "name": "王医生", "staff_number": ANY}
        assert body["order_number"].startswith("IH")
        [anomaly] = await flagged(session)
        assert (anomaly.state, anomaly.handled_by, anomaly.note) == (
            "handled",
            desk.finance.id,
            "已联系患者补缴5元",
        )
        assert anomaly.handled_at is not None

    async def test_twice_is_refused(self, session, client, run_jobs, payer):
        anomaly_id = await self._anomaly(session, client, run_jobs, payer)
        desk = await finance_desk(session)
        url = f"/api/v1/finance/anomalies/{anomaly_id}/handle"
        await client.post(url, headers=desk.finance.headers, json={"note": "已联系患者补缴"})

        again = await client.post(url, headers=desk.supervisor.headers, json={"note": "再处理一次"})

        assert (again.status_code, again.json()["error"]) == (409, "anomaly_already_handled")
        [anomaly] = await flagged(session)
        assert (anomaly.handled_by, anomaly.note) == (desk.finance.id, "已联系患者补缴")

    async def test_a_note_is_required(self, session, client, run_jobs, payer):
        anomaly_id = await self._anomaly(session, client, run_jobs, payer)
        desk = await finance_desk(session)

        response = await client.post(
            f"/api/v1/finance/anomalies/{anomaly_id}/handle", headers=desk.finance.headers, json={"note": ""}
        )

        assert response.status_code == 422
        assert [a.state for a in await flagged(session)] == ["open"]

    async def test_customer_service_may_look_but_not_handle(self, session, client, run_jobs, payer):
        anomaly_id = await self._anomaly(session, client, run_jobs, payer)
        desk = await finance_desk(session)
        service_desk = await clerk(session, desk.org, roles=("customer_service",))

        listed = await client.get("/api/v1/finance/anomalies", headers=service_desk.headers)
        response = await client.post(
            f"/api/v1/finance/anomalies/{anomaly_id}/handle",
            headers=service_desk.headers,
            json={"note": "看看"},
        )

        assert [a["id"] for a in listed.json()["items"]] == [anomaly_id]
        assert response.status_code == 403
        assert [a.state for a in await flagged(session)] == ["open"]

    async def test_an_unknown_anomaly(self, session, client):
        desk = await finance_desk(session)

        response = await client.post(
            "/api/v1/finance/anomalies/01a21d51-0000-7000-8000-000000000000/handle",
            headers=desk.finance.headers,
            json={"note": "已处理"},
        )

        assert (response.status_code, response.json()["error"]) == (404, "anomaly_not_found")

    async def test_the_list_shows_open_and_handled(self, session, client, run_jobs, payer):
        anomaly_id = await self._anomaly(session, client, run_jobs, payer)
        desk = await finance_desk(session)

        before = await client.get("/api/v1/finance/anomalies", headers=desk.finance.headers)
        await client.post(
            f"/api/v1/finance/anomalies/{anomaly_id}/handle",
            headers=desk.finance.headers,
            json={"note": "已处理"},
        )
        still_open = await client.get("/api/v1/finance/anomalies", headers=desk.finance.headers)
        handled = await client.get("/api/v1/finance/anomalies?state=handled", headers=desk.finance.headers)

        assert [(a["id"], a["state"]) for a in before.json()["items"]] == [(anomaly_id, "open")]
        assert before.json()["items"][0]["order_number"].startswith("IH")
        assert still_open.json()["items"] == []
        assert [(a["id"], a["note"], a["handled_by"]["id"]) for a in handled.json()["items"]] == [
            (anomaly_id, "已处理", str(desk.finance.id))
        ]
        assert before.json()["items"][0]["handled_by"] is None
