"""Clinic bills (诊间支付, PT-14): the HIS pushes a bill (signed system client) and the patient's accounts
get an SMS; the pending list is refreshed from the HIS; paying makes (or reuses) an order, and the bill is
paid once the HIS confirms the write-back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ihos.auth import system_clients
from ihos.config import get_settings
from ihos.integrations.his import ClinicBillLine, cancel_clinic_bill, create_clinic_bill
from ihos.integrations.his.sandbox import control as his
from ihos.integrations.sms import list_inbox
from ihos.kit.time import clock
from ihos.models.accounts import Account
from ihos.models.billing import ClinicBill, Order
from ihos.models.jobs import Job
from ihos.models.sandbox_hospital import SandboxHisClinicBill
from ihos.patients import service as patients
from tests.auth.test_system_clients import signed_headers
from tests.billing.conftest import LIU_YANG, ZHANG_WEI, paid, verified_patient
from tests.billing.test_refunds import finance_desk, reload_order
from tests.factories import id_number, make_org, patient_caller

PUSH = "/api/v1/system/clinic-bills"
LINES = [
    ClinicBillLine("JC0001", "血常规", 1, 2_500, 2_500),
    ClinicBillLine("JY0002", "尿常规", 2, 500, 1_000),
]


def bill_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "his_bill_id": "CB20261127000001",
        "patient_id_number": ZHANG_WEI["id_number"],
        "department": "内科",
        "doctor": "王医生",
        "created_at": "2026-11-27T09:30:00+08:00",
        "lines": [
            {"code": "JC0001", "name": "血常规", "quantity": 1, "unit_price_fen": 2_500, "amount_fen": 2_500},
            {"code": "JY0002", "name": "尿常规", "quantity": 2, "unit_price_fen": 500, "amount_fen": 1_000},
        ],
        "total_fen": 3_500,
    }
    return body | changes


@pytest.fixture
async def his_client(session) -> Any:
    org = await make_org(session)
    return await system_clients.create_client(session, org.admin, name="医院HIS", kind="his", campus_id=None)


async def push(client: Any, his_client: Any, body: dict[str, Any]) -> Any:
    content = json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(
        his_client.client.key_id, his_client.secret, method="POST", path=PUSH, body=content
    )
    return await client.post(PUSH, content=content, headers=headers | {"Content-Type": "application/json"})


async def bills_in_ihos(session: Any) -> list[tuple[str, str]]:
    rows = (
        await session.scalars(
            select(ClinicBill).order_by(ClinicBill.billed_at).execution_options(populate_existing=True)
        )
    ).all()
    return [(row.his_bill_id, row.state) for row in rows]


async def pending(client: Any, who: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/me/clinic-bills", headers=who.headers)
    assert response.status_code == 200, response.text
    bills: list[dict[str, Any]] = response.json()
    return bills


async def order_for(client: Any, who: Any, bill_id: str) -> Any:
    return await client.post(f"/api/v1/me/clinic-bills/{bill_id}/order", headers=who.headers)


async def notices(session: Any, phone: str) -> list[str]:
    return [message.text for message in await list_inbox(session, phone=phone)]


class TestPush:
    async def test_it_works(self, session, client, run_jobs, payer, his_client):
        response = await push(client, his_client, bill_body())

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["his_bill_id"], body["patient_id"], body["patient_name"]) == (
            "CB20261127000001",
            str(payer.patient_id),
            "张*",
        )
        assert (body["department"], body["doctor"], body["total_fen"], body["state"]) == (
            "内科",
            "王医生",
            3_500,
            "unpaid",
        )
        assert [line["amount_fen"] for line in body["lines"]] == [2_500, 1_000]
        assert await bills_in_ihos(session) == [("CB20261127000001", "unpaid")]
        await run_jobs()
        assert await notices(session, ZHANG_WEI["phone"]) == [
            "【ihos互联网医院】您有一笔内科的待缴费用 35.00 元，请在互联网医院“待缴费”中支付。"
        ]

    async def test_every_account_holding_the_patient_is_told(
        self, session, client, run_jobs, payer, his_client
    ):
        account = await session.get_one(Account, payer.account_id)
        spouse_id_number = id_number(birth="19880808")
        await patients.add_patient(
            session,
            patient_caller(account),
            name="李娜",
            id_number=spouse_id_number,
            phone="13900000077",
            relation="spouse",
        )

        response = await push(client, his_client, bill_body(patient_id_number=spouse_id_number))
        await run_jobs()

        assert response.status_code == 201
        assert response.json()["patient_name"] == "李*"
        # Told on the account holder's phone, not on the family member's own number.
        assert len(await notices(session, ZHANG_WEI["phone"])) == 1
        assert await notices(session, "13900000077") == []

    async def test_the_same_bill_twice_is_kept_and_told_once(
        self, session, client, run_jobs, payer, his_client
    ):
        await push(client, his_client, bill_body())
        again = await push(client, his_client, bill_body())
        await run_jobs()

        assert again.status_code == 201
        assert await bills_in_ihos(session) == [("CB20261127000001", "unpaid")]
        assert len(await notices(session, ZHANG_WEI["phone"])) == 1

    async def test_a_patient_nobody_registered(self, session, client, run_jobs, payer, his_client):
        response = await push(client, his_client, bill_body(patient_id_number=id_number()))

        assert (response.status_code, response.json()["error"]) == (404, "patient_not_registered")
        assert await bills_in_ihos(session) == []
        assert (
            await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "sms.send_notice"))
            == 0
        )

    @pytest.mark.parametrize(
        "changes",
        [
            {"total_fen": 3_400},
            {
                "lines": [
                    {
                        "code": "JC0001",
                        "name": "血常规",
                        "quantity": 2,
                        "unit_price_fen": 2_500,
                        "amount_fen": 2_500,
                    }
                ],
                "total_fen": 2_500,
            },
            {"created_at": "2026-11-27T09:30:00"},
            {"lines": []},
        ],
        ids=["total_is_not_the_sum", "line_is_not_quantity_times_price", "naive_time", "no_lines"],
    )
    async def test_a_malformed_bill_is_refused(self, session, client, payer, his_client, changes):
        response = await push(client, his_client, bill_body(**changes))

        assert response.status_code == 422, response.text
        assert await bills_in_ihos(session) == []

    async def test_only_the_his_may_push(self, session, client, run_jobs, payer):
        org = await make_org(session)
        kiosk = await system_clients.create_client(
            session, org.admin, name="自助机", kind="kiosk", campus_id=None
        )

        response = await push(client, kiosk, bill_body())
        await run_jobs()

        assert (response.status_code, response.json()["error"]) == (403, "his_only")
        assert await bills_in_ihos(session) == []
        assert await notices(session, ZHANG_WEI["phone"]) == []

    async def test_unsigned(self, session, client, payer):
        response = await client.post(PUSH, json=bill_body())

        assert (response.status_code, response.json()["error"]) == (401, "signature_required")
        assert await bills_in_ihos(session) == []

    async def test_a_patient_token_is_not_a_signature(self, session, client, payer):
        response = await client.post(PUSH, json=bill_body(), headers=payer.headers)

        assert response.status_code == 401
        assert await bills_in_ihos(session) == []


class TestPendingBills:
    async def test_it_works(self, session, client, payer, his_client):
        """Pushed bills and bills the HIS did not push (pulled when the list is opened), newest first."""
        pushed = await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "内科", "王医生")
        await push(
            client,
            his_client,
            bill_body(his_bill_id=pushed.his_bill_id, created_at=pushed.created_at.isoformat()),
        )
        clock.travel(timedelta(seconds=1))
        made = await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        assert await bills_in_ihos(session) == [(pushed.his_bill_id, "unpaid")]

        bills = await pending(client, payer)

        assert [(b["his_bill_id"], b["department"], b["total_fen"], b["state"]) for b in bills] == [
            (made.his_bill_id, "检验科", 3_500, "unpaid"),
            (pushed.his_bill_id, "内科", 3_500, "unpaid"),
        ]
        assert sorted(await bills_in_ihos(session)) == sorted(
            [(pushed.his_bill_id, "unpaid"), (made.his_bill_id, "unpaid")]
        )

    async def test_family_patients_bills_are_listed(self, session, client, payer):
        account = await session.get_one(Account, payer.account_id)
        spouse = id_number(birth="19880808")
        await patients.add_patient(
            session,
            patient_caller(account),
            name="李娜",
            id_number=spouse,
            phone="13900000077",
            relation="spouse",
        )
        await create_clinic_bill(session, spouse, LINES, "检验科", "赵医生")

        bills = await pending(client, payer)

        assert [(b["patient_name"], b["total_fen"]) for b in bills] == [("李*", 3_500)]

    async def test_other_patients_bills_are_not_listed(self, session, client, payer):
        await verified_patient(session, LIU_YANG)
        await create_clinic_bill(session, LIU_YANG["id_number"], LINES, "检验科", "赵医生")

        assert await pending(client, payer) == []

    async def test_a_bill_withdrawn_in_the_his_disappears(self, session, client, payer):
        """The HIS lists unpaid and paid bills: one it no longer lists was withdrawn by the doctor."""
        made = await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)

        assert await cancel_clinic_bill(session, made.his_bill_id)

        assert await pending(client, payer) == []
        assert await bills_in_ihos(session) == [(made.his_bill_id, "cancelled")]
        response = await order_for(client, payer, listed["id"])
        assert (response.status_code, response.json()["error"]) == (409, "clinic_bill_not_payable")

    async def test_a_bill_withdrawn_while_being_paid_disappears(self, session, client, payer):
        made = await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)
        await order_for(client, payer, listed["id"])

        assert await cancel_clinic_bill(session, made.his_bill_id)

        assert await pending(client, payer) == []
        assert await bills_in_ihos(session) == [(made.his_bill_id, "cancelled")]

    async def test_a_bill_paid_at_the_window_disappears(self, session, client, payer):
        """Paid at the hospital's cashier window, the HIS lists it as paid: not pending any more."""
        made = await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)
        await session.execute(
            update(SandboxHisClinicBill)
            .where(SandboxHisClinicBill.his_bill_id == made.his_bill_id)
            .values(state="paid", paid_order_number="WINDOW000001")
        )

        assert await pending(client, payer) == []
        assert await bills_in_ihos(session) == [(made.his_bill_id, "paid")]
        response = await order_for(client, payer, listed["id"])
        assert (response.status_code, response.json()["error"]) == (409, "clinic_bill_not_payable")

    async def test_when_the_his_is_down_the_pushed_bills_are_shown(self, session, client, payer, his_client):
        await push(client, his_client, bill_body())

        with his.failing("unavailable"):
            bills = await pending(client, payer)

        assert [b["his_bill_id"] for b in bills] == ["CB20261127000001"]

    async def test_anonymous_and_staff_are_refused(self, session, client, payer):
        desk = await finance_desk(session)

        assert (await client.get("/api/v1/me/clinic-bills")).status_code == 401
        assert (await client.get("/api/v1/me/clinic-bills", headers=desk.finance.headers)).status_code == 403


class TestPayingABill:
    async def test_it_works(self, session, client, run_jobs, payer):
        made = await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)

        response = await order_for(client, payer, listed["id"])

        assert response.status_code == 200, response.text
        order = response.json()
        assert (
            order["business_kind"],
            order["business_reference"],
            order["payable_fen"],
            order["state"],
        ) == (
            "clinic_bill",
            made.his_bill_id,
            3_500,
            "created",
        )
        assert order["description"] == "诊间缴费 检验科"
        [still] = await pending(client, payer)
        assert still["state"] == "paying"

        await paid(client, session, run_jobs, payer, order["order_number"])

        stored = await reload_order(session, order["order_number"])
        assert (stored.state, stored.his_state) == ("paid", "written")
        assert await bills_in_ihos(session) == [(made.his_bill_id, "paid")]
        his_bill = await session.scalar(
            select(SandboxHisClinicBill).execution_options(populate_existing=True)
        )
        assert (his_bill.state, his_bill.paid_order_number) == ("paid", order["order_number"])
        assert await pending(client, payer) == []

    async def test_the_open_order_is_reused(self, session, client, payer):
        await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)

        first = await order_for(client, payer, listed["id"])
        await client.post(
            f"/api/v1/me/orders/{first.json()['order_number']}/pay",
            headers=payer.headers,
            json={"channel": "wechat"},
        )
        second = await order_for(client, payer, listed["id"])

        assert second.json()["order_number"] == first.json()["order_number"]
        assert await session.scalar(select(func.count()).select_from(Order)) == 1

    async def test_after_the_order_closed_a_new_one_is_made(self, session, client, run_jobs, payer):
        await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)
        first = (await order_for(client, payer, listed["id"])).json()["order_number"]
        clock.travel(timedelta(minutes=16))
        await run_jobs()
        assert (await reload_order(session, first)).state == "closed"

        second = await order_for(client, payer, listed["id"])

        assert second.status_code == 200
        assert second.json()["order_number"] != first
        assert second.json()["state"] == "created"

    async def test_a_paid_bill_is_not_ordered_again(self, session, client, run_jobs, payer):
        await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)
        number = (await order_for(client, payer, listed["id"])).json()["order_number"]
        await paid(client, session, run_jobs, payer, number)

        response = await order_for(client, payer, listed["id"])

        assert (response.status_code, response.json()["error"]) == (409, "clinic_bill_not_payable")
        assert await session.scalar(select(func.count()).select_from(Order)) == 1

    async def test_someone_elses_bill_is_not_found(self, session, client, payer):
        await create_clinic_bill(session, ZHANG_WEI["id_number"], LINES, "检验科", "赵医生")
        [listed] = await pending(client, payer)
        stranger = await verified_patient(session, LIU_YANG)

        response = await order_for(client, stranger, listed["id"])

        assert (response.status_code, response.json()["error"]) == (404, "clinic_bill_not_found")
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
        assert await bills_in_ihos(session) == [(listed["his_bill_id"], "unpaid")]

    async def test_an_unknown_bill_is_not_found(self, session, client, payer):
        response = await order_for(client, payer, "01a21d51-0000-7000-8000-000000000000")

        assert (response.status_code, response.json()["error"]) == (404, "clinic_bill_not_found")


SANDBOX_BILLS = "/api/v1/sandbox/his/clinic-bills"


def doctors_orders(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id_number": ZHANG_WEI["id_number"],
        "department": "检验科",
        "doctor": "赵医生",
        "lines": [
            {"code": "JC0001", "name": "血常规", "quantity": 1, "unit_price_fen": 2_500},
            {"code": "JY0002", "name": "尿常规", "quantity": 2, "unit_price_fen": 500},
        ],
    }
    return body | changes


@pytest.fixture
def demo(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "demo", True)


class TestSandboxHisBill:
    """Demo mode: a doctor's orders make a bill in the sandbox HIS, which reaches the patient's 待缴费 the
    normal way, when the list is refreshed from the HIS."""

    async def test_it_works(self, session, client, run_jobs, payer, demo):
        response = await client.post(SANDBOX_BILLS, json=doctors_orders())

        assert response.status_code == 201, response.text
        made = response.json()
        assert (made["department"], made["doctor"], made["total_fen"]) == ("检验科", "赵医生", 3_500)
        in_his = await session.scalar(
            select(SandboxHisClinicBill).where(SandboxHisClinicBill.his_bill_id == made["his_bill_id"])
        )
        assert [line["amount_fen"] for line in in_his.lines] == [2_500, 1_000]
        [bill] = await pending(client, payer)
        assert (bill["his_bill_id"], bill["patient_name"], bill["total_fen"]) == (
            made["his_bill_id"],
            "张*",
            3_500,
        )
        # It is paid like any other bill, and the HIS marks it paid.
        number = (await order_for(client, payer, bill["id"])).json()["order_number"]
        await paid(client, session, run_jobs, payer, number)
        await session.refresh(in_his)
        assert (in_his.state, in_his.paid_order_number) == ("paid", number)
        assert await pending(client, payer) == []

    async def test_nobody_is_told_by_sms(self, session, client, run_jobs, payer, demo):
        await client.post(SANDBOX_BILLS, json=doctors_orders())
        await run_jobs()

        assert await notices(session, ZHANG_WEI["phone"]) == []

    async def test_a_wrong_id_number_is_refused(self, session, client, demo):
        response = await client.post(
            SANDBOX_BILLS, json=doctors_orders(patient_id_number="110105198503120136")
        )

        assert (response.status_code, response.json()["error"]) == (400, "invalid_his_bill")
        assert await session.scalar(select(func.count()).select_from(SandboxHisClinicBill)) == 0

    @pytest.mark.parametrize(
        "changes",
        [
            {"lines": []},
            {"lines": [{"code": "JC0001", "name": "血常规", "quantity": 0, "unit_price_fen": 1}]},
        ],
        ids=["no_lines", "no_quantity"],
    )
    async def test_a_malformed_bill_is_refused(self, session, client, demo, changes):
        response = await client.post(SANDBOX_BILLS, json=doctors_orders(**changes))

        assert response.status_code == 422
        assert await session.scalar(select(func.count()).select_from(SandboxHisClinicBill)) == 0

    async def test_hidden_outside_demo_mode(self, session, client):
        response = await client.post(SANDBOX_BILLS, json=doctors_orders())

        assert response.status_code == 404
        assert await session.scalar(select(func.count()).select_from(SandboxHisClinicBill)) == 0

    async def test_hidden_with_a_live_his(self, session, client, demo, monkeypatch):
        monkeypatch.setattr(get_settings().integrations.his, "provider", "live")

        response = await client.post(SANDBOX_BILLS, json=doctors_orders())

        assert response.status_code == 404
        assert await session.scalar(select(func.count()).select_from(SandboxHisClinicBill)) == 0
