"""Refunds (FI-01, FI-02): who may ask, the approval chain, execution through the original channel with
the same refund number on every retry, confirmation by notification or query, and the HIS write-back.

The cast: 张伟 pays; at the finance desk a clerk asks for refunds (``requester``), a finance officer
approves the first level (``finance``), the finance supervisor the second (``supervisor``), and a
cashier sends approved refunds to the channel (``cashier``). Default chain (migration 0009): finance
for every refund, the finance supervisor as well from 500 yuan.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import func, select

from ihos.billing import config, service
from ihos.config import get_settings
from ihos.integrations.his import ClinicBillLine, create_clinic_bill
from ihos.integrations.payment.alipay.sandbox import AlipayPaySandbox
from ihos.integrations.payment.alipay.sandbox import control as alipay
from ihos.integrations.payment.wechat.factory import wechat_pay_sandbox
from ihos.integrations.payment.wechat.sandbox import WeChatPaySandbox
from ihos.integrations.payment.wechat.sandbox import control as wechat
from ihos.kit.time import clock
from ihos.models.billing import Anomaly, Order, Payment, Refund, RefundApproval
from ihos.models.sandbox_alipay_unionpay import SandboxAlipayRefund
from ihos.models.sandbox_hospital import SandboxHisClinicBill, SandboxHisRefund
from ihos.models.sandbox_wechat_pay import SandboxWeChatPayRefund
from tests.billing.conftest import LIU_YANG, ZHANG_WEI, PayingPatient, make_order, paid, verified_patient
from tests.factories import Org, bearer, make_org, make_staff, staff_token

# ---------------------------------------------------------------------------------------------
# the cast and the setup, shared with the anomaly and finance-desk tests


@dataclass
class Clerk:
    """A member of staff with a token; plain ids stay readable after a refused request."""

    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def clerk(
    session: Any,
    org: Org,
    *,
    roles: tuple[str, ...] = ("finance",),
    may_request: bool = False,
    may_approve: bool = False,
    limit_fen: int | None = None,
    may_execute: bool = False,
) -> Clerk:
    staff = await make_staff(session, org, roles=list(roles))
    if may_request or may_approve or may_execute:
        await config.set_refund_authority(
            session,
            org.admin,
            staff.id,
            may_request=may_request,
            may_approve=may_approve,
            approval_limit_fen=limit_fen,
            may_execute=may_execute,
        )
    return Clerk(staff.id, await staff_token(session, staff))


@dataclass
class Desk:
    org: Org
    requester: Clerk
    finance: Clerk
    supervisor: Clerk
    cashier: Clerk


async def finance_desk(session: Any) -> Desk:
    org = await make_org(session)
    return Desk(
        org=org,
        requester=await clerk(session, org, roles=("customer_service",), may_request=True),
        finance=await clerk(session, org, roles=("finance",), may_approve=True),
        supervisor=await clerk(session, org, roles=("finance_supervisor",), may_approve=True),
        cashier=await clerk(session, org, roles=("finance",), may_execute=True),
    )


@pytest.fixture
async def desk(session) -> Desk:
    return await finance_desk(session)


def lines_of(fen: int) -> list[service.LineIn]:
    return [service.LineIn("JC0101", "增强CT", 1, fen)]


async def paid_order(
    session: Any,
    client: httpx.AsyncClient,
    run_jobs: Any,
    payer: PayingPatient,
    *,
    fen: int = 30_000,
    channel: str = "wechat",
) -> str:
    """An exam order of ``fen`` paid through ``channel`` and written to the HIS; its order number."""
    number = (await make_order(session, payer, lines=lines_of(fen))).order_number
    await paid(client, session, run_jobs, payer, number, channel)
    return number


async def paid_clinic_bill(
    session: Any,
    client: httpx.AsyncClient,
    run_jobs: Any,
    payer: PayingPatient,
    *,
    fen: int = 30_000,
    person: dict[str, str] = ZHANG_WEI,
) -> str:
    """A doctor's bill in the HIS, paid by the patient through the app; the order number."""
    bill = await create_clinic_bill(
        session, person["id_number"], [ClinicBillLine("JC0101", "增强CT", 1, fen, fen)], "放射科", "李医生"
    )
    listed = await client.get("/api/v1/me/clinic-bills", headers=payer.headers)
    bill_id = next(b["id"] for b in listed.json() if b["his_bill_id"] == bill.his_bill_id)
    made = await client.post(f"/api/v1/me/clinic-bills/{bill_id}/order", headers=payer.headers)
    assert made.status_code == 200, made.text
    number: str = made.json()["order_number"]
    await paid(client, session, run_jobs, payer, number, "wechat")
    return number


async def ask(client: httpx.AsyncClient, who: Clerk, number: str, fen: int, reason: str = "检查取消") -> Any:
    return await client.post(
        f"/api/v1/finance/orders/{number}/refunds",
        headers=who.headers,
        json={"amount_fen": fen, "reason": reason},
    )


async def requested(client: httpx.AsyncClient, who: Clerk, number: str, fen: int) -> str:
    response = await ask(client, who, number, fen)
    assert response.status_code == 201, response.text
    refund_id: str = response.json()["id"]
    return refund_id


async def approve(client: httpx.AsyncClient, who: Clerk, refund_id: str, note: str | None = None) -> Any:
    return await client.post(
        f"/api/v1/finance/refunds/{refund_id}/approve", headers=who.headers, json={"note": note}
    )


async def reject(client: httpx.AsyncClient, who: Clerk, refund_id: str, note: str = "不符合退费条件") -> Any:
    return await client.post(
        f"/api/v1/finance/refunds/{refund_id}/reject", headers=who.headers, json={"note": note}
    )


async def execute(client: httpx.AsyncClient, who: Clerk, refund_id: str) -> Any:
    return await client.post(f"/api/v1/finance/refunds/{refund_id}/execute", headers=who.headers)


async def refunded(
    session: Any, client: httpx.AsyncClient, run_jobs: Any, desk: Desk, number: str, fen: int
) -> str:
    """A refund asked, approved through the chain, executed and confirmed; its id."""
    refund_id = await requested(client, desk.requester, number, fen)
    assert (await approve(client, desk.finance, refund_id)).status_code == 200
    if fen >= 50_000:
        assert (await approve(client, desk.supervisor, refund_id)).status_code == 200
    assert (await execute(client, desk.cashier, refund_id)).status_code == 200
    await run_jobs()
    return refund_id


async def reload_order(session: Any, number: str) -> Order:
    order: Order = await session.scalar(
        select(Order).where(Order.order_number == number).execution_options(populate_existing=True)
    )
    return order


async def reload_refund(session: Any, refund_id: str) -> Refund:
    refund: Refund = await session.scalar(
        select(Refund).where(Refund.id == uuid.UUID(refund_id)).execution_options(populate_existing=True)
    )
    return refund


async def payment_of(session: Any, number: str) -> Payment:
    order = await reload_order(session, number)
    payment: Payment = await session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.disposition == "applied")
        .execution_options(populate_existing=True)
    )
    return payment


async def money(session: Any, number: str) -> tuple[str, int, int, int]:
    """(order state, reserved, refunded on the payment, refunded on the order)."""
    order = await reload_order(session, number)
    payment = await payment_of(session, number)
    return order.state, payment.refund_reserved_fen, payment.refunded_fen, order.refunded_fen


async def refund_rows(session: Any) -> tuple[int, int]:
    return (
        await session.scalar(select(func.count()).select_from(Refund)),
        await session.scalar(select(func.count()).select_from(RefundApproval)),
    )


@pytest.fixture
def refund_requests(monkeypatch) -> list[str]:
    """The refund numbers sent to the WeChat Pay and Alipay sandboxes, attempt by attempt."""
    sent: list[str] = []
    wechat_handle, alipay_handle = WeChatPaySandbox.handle, AlipayPaySandbox.handle

    async def wechat_spy(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v3/refund/domestic/refunds":
            sent.append(json.loads(request.content)["out_refund_no"])
        return await wechat_handle(self, request)

    async def alipay_spy(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        if request.method == "POST":
            params.update(parse_qsl(request.content.decode(), keep_blank_values=True))
        if params.get("method") == "alipay.trade.refund":
            sent.append(json.loads(params["biz_content"])["out_request_no"])
        return await alipay_handle(self, request)

    monkeypatch.setattr(WeChatPaySandbox, "handle", wechat_spy)
    monkeypatch.setattr(AlipayPaySandbox, "handle", alipay_spy)
    return sent


# ---------------------------------------------------------------------------------------------
# asking


class TestPatientAsks:
    async def test_it_works(self, session, client, run_jobs, payer):
        number = await paid_clinic_bill(session, client, run_jobs, payer, fen=30_000)

        response = await client.post(
            f"/api/v1/me/orders/{number}/refunds",
            headers=payer.headers,
            json={"amount_fen": 10_000, "reason": "检查项目取消"},
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["amount_fen"], body["state"], body["requested_by_kind"]) == (
            10_000,
            "pending_approval",
            "patient",
        )
        assert (body["levels_required"], body["levels_approved"], body["is_automatic"]) == (1, 0, False)
        assert body["refund_number"].startswith("RF") and len(body["refund_number"]) == 22
        assert await money(session, number) == ("paid", 10_000, 0, 0)

    async def test_without_an_amount_the_rest_is_asked(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer, fen=30_000)
        await requested(client, desk.requester, number, 10_000)

        response = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "不做了"}
        )

        assert response.json()["amount_fen"] == 20_000
        assert await money(session, number) == ("paid", 30_000, 0, 0)

    async def test_nothing_left_is_refused_as_exceeding(self, session, client, run_jobs, payer):
        number = await paid_clinic_bill(session, client, run_jobs, payer, fen=30_000)
        first = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "不做了"}
        )
        assert first.status_code == 201

        again = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "不做了"}
        )

        assert again.status_code == 409
        assert again.json()["error"] == "refund_exceeds_paid"
        assert "可退 0.00 元" in again.json()["message"]
        assert await refund_rows(session) == (1, 0)

    async def test_other_kinds_are_not_refundable_by_the_patient(self, session, client, run_jobs, payer):
        number = await paid_order(session, client, run_jobs, payer)

        response = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "不想做了"}
        )

        assert response.status_code == 409
        assert response.json()["error"] == "not_refundable"
        assert await refund_rows(session) == (0, 0)
        assert await money(session, number) == ("paid", 0, 0, 0)

    async def test_an_unpaid_order_is_not_refundable(self, session, client, payer):
        number = (await make_order(session, payer, kind="clinic_bill")).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "不想做了"}
        )

        assert (response.status_code, response.json()["error"]) == (409, "not_refundable")
        assert await refund_rows(session) == (0, 0)

    async def test_someone_elses_order_is_not_found(self, session, client, run_jobs, payer):
        number = await paid_clinic_bill(session, client, run_jobs, payer)
        stranger = await verified_patient(session, LIU_YANG)

        response = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=stranger.headers, json={"reason": "不想做了"}
        )

        assert (response.status_code, response.json()["error"]) == (404, "order_not_found")
        assert await refund_rows(session) == (0, 0)

    @pytest.mark.parametrize("fen", [0, -100])
    async def test_an_amount_must_be_positive(self, session, client, run_jobs, payer, fen):
        number = await paid_clinic_bill(session, client, run_jobs, payer)

        response = await client.post(
            f"/api/v1/me/orders/{number}/refunds",
            headers=payer.headers,
            json={"amount_fen": fen, "reason": "不想做了"},
        )

        assert response.status_code == 422
        assert await refund_rows(session) == (0, 0)

    async def test_the_patient_follows_the_progress(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)

        response = await client.get(f"/api/v1/me/orders/{number}/refunds", headers=payer.headers)

        assert [(r["id"], r["state"], r["amount_fen"]) for r in response.json()] == [
            (refund_id, "pending_approval", 10_000)
        ]
        stranger = await verified_patient(session, LIU_YANG)
        other = await client.get(f"/api/v1/me/orders/{number}/refunds", headers=stranger.headers)
        assert (other.status_code, other.json()["error"]) == (404, "order_not_found")

    async def test_the_patient_reads_why_it_was_rejected(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer)
        asked = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "医生取消了检查"}
        )
        await reject(client, desk.finance, asked.json()["id"], note="检查已完成，不能退费")
        waiting = await requested(client, desk.requester, number, 1_000)

        response = await client.get(f"/api/v1/me/orders/{number}/refunds", headers=payer.headers)

        assert [(r["id"], r["state"], r["rejection_note"]) for r in response.json()] == [
            (asked.json()["id"], "rejected", "检查已完成，不能退费"),
            (waiting, "pending_approval", None),
        ]
        # What the patient reads says nothing of who asked or decided.
        assert not {"requested_by", "approver", "approvals"} & set(response.json()[0])


class TestStaffAsks:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)

        response = await ask(client, desk.requester, number, 10_000)

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["amount_fen"], body["state"], body["requested_by_kind"], body["reason"]) == (
            10_000,
            "pending_approval",
            "staff",
            "检查取消",
        )
        refund = await reload_refund(session, body["id"])
        assert refund.requested_by_id == desk.requester.id
        assert await money(session, number) == ("paid", 10_000, 0, 0)

    @pytest.mark.parametrize("roles", [("finance",), ("finance_supervisor",), ("doctor",)])
    async def test_without_authority_it_is_refused(self, session, client, run_jobs, payer, desk, roles):
        number = await paid_order(session, client, run_jobs, payer)
        nobody = await clerk(session, desk.org, roles=roles)

        response = await ask(client, nobody, number, 10_000)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        assert await refund_rows(session) == (0, 0)
        assert await money(session, number) == ("paid", 0, 0, 0)

    async def test_approving_authority_alone_is_not_enough(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)

        response = await ask(client, desk.finance, number, 10_000)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        assert await refund_rows(session) == (0, 0)

    async def test_more_than_left_is_refused_with_what_is_left(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        await requested(client, desk.requester, number, 12_345)

        response = await ask(client, desk.requester, number, 17_656)

        assert response.status_code == 409
        assert response.json()["error"] == "refund_exceeds_paid"
        assert "可退 176.55 元" in response.json()["message"]
        assert await refund_rows(session) == (1, 0)
        assert await money(session, number) == ("paid", 12_345, 0, 0)

    async def test_exactly_what_is_left_is_accepted(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        await requested(client, desk.requester, number, 12_345)

        response = await ask(client, desk.requester, number, 17_655)

        assert response.status_code == 201
        assert await money(session, number) == ("paid", 30_000, 0, 0)

    @pytest.mark.parametrize("fen", [0, -1])
    async def test_the_amount_must_be_positive(self, session, client, run_jobs, payer, desk, fen):
        number = await paid_order(session, client, run_jobs, payer)

        response = await ask(client, desk.requester, number, fen)

        assert response.status_code == 422
        assert await refund_rows(session) == (0, 0)

    async def test_an_unknown_order(self, session, client, desk):
        response = await ask(client, desk.requester, "IH20260101000000000000", 100)

        assert (response.status_code, response.json()["error"]) == (404, "order_not_found")

    async def test_an_unpaid_order(self, session, client, payer, desk):
        number = (await make_order(session, payer)).order_number

        response = await ask(client, desk.requester, number, 100)

        assert (response.status_code, response.json()["error"]) == (409, "not_refundable")
        assert await refund_rows(session) == (0, 0)


class TestOneOrderManyRequests:
    """Requests for parts of one payment, one after another, whose amounts together exceed it: the
    conditional reservation accepts exactly those that fit (PostgreSQL races: test_concurrency.py)."""

    async def test_it_works(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer, fen=10_000)
        outcomes = []
        for fen in (3_000, 3_000, 3_000, 3_000, 1_000, 1):
            response = await ask(client, desk.requester, number, fen)
            outcomes.append((fen, response.status_code))
            _, reserved, _, _ = await money(session, number)
            assert reserved <= 10_000

        assert outcomes == [
            (3_000, 201),
            (3_000, 201),
            (3_000, 201),
            (3_000, 409),
            (1_000, 201),
            (1, 409),
        ]
        assert await money(session, number) == ("paid", 10_000, 0, 0)
        total = await session.scalar(select(func.sum(Refund.amount_fen)))
        assert total == 10_000

    async def test_patient_and_staff_share_one_limit(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer, fen=10_000)
        await requested(client, desk.requester, number, 6_000)

        by_patient = await client.post(
            f"/api/v1/me/orders/{number}/refunds",
            headers=payer.headers,
            json={"amount_fen": 5_000, "reason": "不做了"},
        )
        rest = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "不做了"}
        )

        assert (by_patient.status_code, by_patient.json()["error"]) == (409, "refund_exceeds_paid")
        assert "可退 40.00 元" in by_patient.json()["message"]
        assert (rest.status_code, rest.json()["amount_fen"]) == (201, 4_000)
        assert await money(session, number) == ("paid", 10_000, 0, 0)

    async def test_what_a_rejection_gives_back_can_be_asked_again(
        self, session, client, run_jobs, payer, desk
    ):
        number = await paid_order(session, client, run_jobs, payer, fen=10_000)
        first = await requested(client, desk.requester, number, 7_000)
        await requested(client, desk.requester, number, 3_000)
        assert (await ask(client, desk.requester, number, 1)).status_code == 409

        assert (await reject(client, desk.finance, first)).status_code == 200

        assert await money(session, number) == ("paid", 3_000, 0, 0)
        assert (await ask(client, desk.requester, number, 7_001)).status_code == 409
        assert (await ask(client, desk.requester, number, 7_000)).status_code == 201
        assert await money(session, number) == ("paid", 10_000, 0, 0)


# ---------------------------------------------------------------------------------------------
# the approval chain


class TestApprovalChain:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        """100 yuan: one approval by finance, then it waits for the cashier."""
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)

        response = await approve(client, desk.finance, refund_id, note="同意")

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["levels_required"], body["levels_approved"]) == ("approved", 1, 1)
        [approval] = (await session.scalars(select(RefundApproval))).all()
        assert (approval.level, approval.approver_id, approval.decision, approval.note) == (
            1,
            desk.finance.id,
            "approved",
            "同意",
        )
        assert await money(session, number) == ("paid", 10_000, 0, 0)

    async def test_six_hundred_yuan_needs_the_supervisor_as_well(
        self, session, client, run_jobs, payer, desk
    ):
        number = await paid_order(session, client, run_jobs, payer, fen=80_000)
        refund_id = await requested(client, desk.requester, number, 60_000)

        first = await approve(client, desk.finance, refund_id)
        assert (first.json()["state"], first.json()["levels_required"], first.json()["levels_approved"]) == (
            "pending_approval",
            2,
            1,
        )
        second = await approve(client, desk.supervisor, refund_id)

        assert (second.json()["state"], second.json()["levels_approved"]) == ("approved", 2)
        approvals = (await session.scalars(select(RefundApproval).order_by(RefundApproval.level))).all()
        assert [(a.level, a.approver_id) for a in approvals] == [
            (1, desk.finance.id),
            (2, desk.supervisor.id),
        ]

    async def test_five_hundred_yuan_is_the_threshold(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=100_000)

        below = await ask(client, desk.requester, number, 49_999)
        at = await ask(client, desk.requester, number, 50_000)

        assert below.json()["levels_required"] == 1
        assert at.json()["levels_required"] == 2

    async def test_the_supervisor_cannot_take_the_first_level(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=80_000)
        refund_id = await requested(client, desk.requester, number, 60_000)

        response = await approve(client, desk.supervisor, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        assert (await reload_refund(session, refund_id)).levels_approved == 0
        assert await refund_rows(session) == (1, 0)

    async def test_finance_cannot_take_the_second_level(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=80_000)
        refund_id = await requested(client, desk.requester, number, 60_000)
        await approve(client, desk.finance, refund_id)
        colleague = await clerk(session, desk.org, roles=("finance",), may_approve=True)

        response = await approve(client, colleague, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        # The role by its name, as the finance office calls it.
        assert response.json()["message"] == "第 2 级审批须由“财务主管”角色的人员完成"
        refund = await reload_refund(session, refund_id)
        assert (refund.state, refund.levels_approved) == ("pending_approval", 1)
        assert await refund_rows(session) == (1, 1)

    async def test_approving_needs_the_authority(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        without = await clerk(session, desk.org, roles=("finance",))

        response = await approve(client, without, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        assert (await reload_refund(session, refund_id)).state == "pending_approval"
        assert await refund_rows(session) == (1, 0)

    async def test_approving_needs_a_high_enough_limit(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        small = await clerk(session, desk.org, roles=("finance",), may_approve=True, limit_fen=9_999)
        enough = await clerk(session, desk.org, roles=("finance",), may_approve=True, limit_fen=10_000)

        refused = await approve(client, small, refund_id)
        accepted = await approve(client, enough, refund_id)

        assert (refused.status_code, refused.json()["error"]) == (403, "no_refund_authority")
        assert (accepted.status_code, accepted.json()["state"]) == (200, "approved")

    async def test_approving_needs_the_levels_role(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        service_desk = await clerk(session, desk.org, roles=("customer_service",), may_approve=True)

        response = await approve(client, service_desk, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        assert await refund_rows(session) == (1, 0)

    async def test_the_requester_cannot_approve(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        both = await clerk(session, desk.org, roles=("finance",), may_request=True, may_approve=True)
        refund_id = await requested(client, both, number, 10_000)

        response = await approve(client, both, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "own_refund_approval")
        assert (await reload_refund(session, refund_id)).state == "pending_approval"
        assert await refund_rows(session) == (1, 0)

    async def test_one_person_cannot_approve_two_levels(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=80_000)
        refund_id = await requested(client, desk.requester, number, 60_000)
        both = await clerk(session, desk.org, roles=("finance", "finance_supervisor"), may_approve=True)
        assert (await approve(client, both, refund_id)).status_code == 200

        response = await approve(client, both, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "own_refund_approval")
        refund = await reload_refund(session, refund_id)
        assert (refund.state, refund.levels_approved) == ("pending_approval", 1)
        assert await refund_rows(session) == (1, 1)
        assert (await approve(client, desk.supervisor, refund_id)).json()["state"] == "approved"

    async def test_an_approved_refund_is_not_approved_again(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        colleague = await clerk(session, desk.org, roles=("finance",), may_approve=True)

        response = await approve(client, colleague, refund_id)

        assert (response.status_code, response.json()["error"]) == (409, "refund_not_awaiting")
        assert await refund_rows(session) == (1, 1)

    async def test_an_unknown_refund(self, session, client, desk):
        response = await approve(client, desk.finance, str(uuid.uuid4()))

        assert (response.status_code, response.json()["error"]) == (404, "refund_not_found")


class TestReject:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        refund_id = await requested(client, desk.requester, number, 30_000)

        response = await reject(client, desk.finance, refund_id, note="检查已做")

        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["levels_approved"]) == ("rejected", 0)
        [approval] = (await session.scalars(select(RefundApproval))).all()
        assert (approval.decision, approval.note) == ("rejected", "检查已做")
        assert await money(session, number) == ("paid", 0, 0, 0)
        again = await ask(client, desk.requester, number, 30_000)
        assert again.status_code == 201
        assert await money(session, number) == ("paid", 30_000, 0, 0)

    async def test_the_second_level_may_reject(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=80_000)
        refund_id = await requested(client, desk.requester, number, 80_000)
        await approve(client, desk.finance, refund_id)

        response = await reject(client, desk.supervisor, refund_id)

        assert (response.json()["state"], response.json()["levels_approved"]) == ("rejected", 1)
        assert await money(session, number) == ("paid", 0, 0, 0)

    async def test_a_rejected_refund_is_released_once(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await requested(client, desk.requester, number, 5_000)
        await reject(client, desk.finance, refund_id)

        again = await reject(client, desk.finance, refund_id)

        assert (again.status_code, again.json()["error"]) == (409, "refund_not_awaiting")
        assert await money(session, number) == ("paid", 5_000, 0, 0)

    async def test_rejecting_needs_the_authority(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)

        response = await reject(client, desk.cashier, refund_id)

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        assert (await reload_refund(session, refund_id)).state == "pending_approval"
        assert await money(session, number) == ("paid", 10_000, 0, 0)


# ---------------------------------------------------------------------------------------------
# executing


class TestExecute:
    async def test_the_requester_does_not_also_send_the_money(self, session, client, run_jobs, payer, desk):
        both = await clerk(session, desk.org, roles=("finance",), may_request=True, may_execute=True)
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        refund_id = await requested(client, both, number, 10_000)
        await approve(client, desk.finance, refund_id)
        response = await execute(client, both, refund_id)
        assert response.status_code == 403
        assert response.json()["message"] == "不能执行自己提交的退款申请"
        assert (await reload_refund(session, refund_id)).state == "approved"

    @pytest.mark.parametrize("channel", ["wechat", "alipay", "unionpay"])
    async def test_it_works(self, session, client, run_jobs, payer, desk, refund_requests, channel):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000, channel=channel)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)

        response = await execute(client, desk.cashier, refund_id)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "approved"
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert (refund.state, refund.executed_by, refund.his_state) == (
            "succeeded",
            desk.cashier.id,
            "written",
        )
        assert refund.succeeded_at is not None and refund.submitted_at is not None
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)
        if channel != "unionpay":
            assert refund_requests == [refund.refund_number]
        [his_refund] = (await session.scalars(select(SandboxHisRefund))).all()
        assert (his_refund.refund_number, his_refund.order_number, his_refund.amount_fen) == (
            refund.refund_number,
            number,
            10_000,
        )

    async def test_the_wechat_refund_lands_in_the_wechat_ledger(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        payment = await payment_of(session, number)
        transaction_id = payment.transaction_id

        refund_id = await refunded(session, client, run_jobs, desk, number, 10_000)

        refund = await reload_refund(session, refund_id)
        [row] = (await session.scalars(select(SandboxWeChatPayRefund))).all()
        assert (row.out_refund_no, row.out_trade_no, row.transaction_id, row.refund_fen, row.outcome) == (
            refund.refund_number,
            number,
            transaction_id,
            10_000,
            "SUCCESS",
        )
        assert refund.channel_refund_id == row.refund_id

    async def test_the_alipay_refund_lands_in_the_alipay_ledger(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000, channel="alipay")

        refund_id = await refunded(session, client, run_jobs, desk, number, 10_000)

        refund = await reload_refund(session, refund_id)
        [row] = (await session.scalars(select(SandboxAlipayRefund))).all()
        assert (row.out_request_no, row.amount_fen) == (refund.refund_number, 10_000)
        assert refund.state == "succeeded"

    async def test_executing_needs_the_authority(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)

        response = await execute(client, desk.finance, refund_id)
        await run_jobs()

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")
        refund = await reload_refund(session, refund_id)
        assert (refund.state, refund.executed_by, refund.submitted_at) == ("approved", None, None)
        assert await session.scalar(select(func.count()).select_from(SandboxWeChatPayRefund)) == 0

    async def test_an_unapproved_refund_is_not_executed(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)

        response = await execute(client, desk.cashier, refund_id)
        await run_jobs()

        assert (response.status_code, response.json()["error"]) == (409, "refund_not_awaiting")
        assert (await reload_refund(session, refund_id)).state == "pending_approval"
        assert await session.scalar(select(func.count()).select_from(SandboxWeChatPayRefund)) == 0

    async def test_a_succeeded_refund_is_not_executed_again(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await refunded(session, client, run_jobs, desk, number, 10_000)

        response = await execute(client, desk.cashier, refund_id)
        await run_jobs()

        assert (response.status_code, response.json()["error"]) == (409, "refund_not_awaiting")
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)

    async def test_partial_refunds_then_refunded(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)

        await refunded(session, client, run_jobs, desk, number, 10_000)
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)
        await refunded(session, client, run_jobs, desk, number, 20_000)

        assert await money(session, number) == ("refunded", 30_000, 30_000, 30_000)
        order = await reload_order(session, number)
        assert (order.paid_fen, order.refunded_fen) == (30_000, 30_000)
        his = (await session.scalars(select(SandboxHisRefund).order_by(SandboxHisRefund.amount_fen))).all()
        assert [r.amount_fen for r in his] == [10_000, 20_000]
        assert (await ask(client, desk.requester, number, 1)).status_code == 409


class TestChannelRetries:
    async def test_a_wechat_refund_is_retried_with_the_same_number(
        self, session, client, run_jobs, payer, desk, refund_requests
    ):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        wechat.fail_next("SYSTEM_ERROR", operation="refund")

        await execute(client, desk.cashier, refund_id)
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state != "succeeded"
        assert refund_requests == [refund.refund_number]
        clock.travel(timedelta(minutes=1))
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert refund_requests == [refund.refund_number, refund.refund_number]
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)
        assert await session.scalar(select(func.count()).select_from(SandboxWeChatPayRefund)) == 1

    async def test_a_lost_answer_is_retried_with_the_same_number(
        self, session, client, run_jobs, payer, desk, refund_requests
    ):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        wechat.time_out_next(operation="refund", after_processing=True)

        await execute(client, desk.cashier, refund_id)
        await run_jobs()
        clock.travel(timedelta(minutes=1))
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert refund_requests == [refund.refund_number, refund.refund_number]
        assert await session.scalar(select(func.count()).select_from(SandboxWeChatPayRefund)) == 1
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)
        assert await session.scalar(select(func.count()).select_from(SandboxHisRefund)) == 1

    async def test_an_alipay_refund_is_retried_with_the_same_number(
        self, session, client, run_jobs, payer, desk, refund_requests
    ):
        number = await paid_order(session, client, run_jobs, payer, channel="alipay")
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)

        await execute(client, desk.cashier, refund_id)
        with alipay.failing("system_error"):
            await run_jobs()
        refund = await reload_refund(session, refund_id)
        assert refund.state != "succeeded"
        clock.travel(timedelta(minutes=1))
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert refund_requests == [refund.refund_number, refund.refund_number]
        assert [r.out_request_no for r in (await session.scalars(select(SandboxAlipayRefund))).all()] == [
            refund.refund_number
        ]
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)

    async def test_a_refusal_fails_the_refund_and_gives_the_money_back(
        self, session, client, run_jobs, payer, desk, refund_requests
    ):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        wechat.fail_next("NOT_ENOUGH", operation="refund")

        await execute(client, desk.cashier, refund_id)
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "failed"
        assert refund.last_error is not None and refund.last_error.startswith("NOT_ENOUGH")
        assert await money(session, number) == ("paid", 0, 0, 0)
        [anomaly] = (await session.scalars(select(Anomaly))).all()
        assert (anomaly.kind, anomaly.refund_id, anomaly.state) == ("refund_stuck", refund.id, "open")
        assert anomaly.details["channel_code"] == "NOT_ENOUGH"

    async def test_a_failed_refund_is_executed_again_with_its_number(
        self, session, client, run_jobs, payer, desk, refund_requests
    ):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        wechat.fail_next("NOT_ENOUGH", operation="refund")
        await execute(client, desk.cashier, refund_id)
        await run_jobs()
        assert (await reload_refund(session, refund_id)).state == "failed"

        response = await execute(client, desk.cashier, refund_id)
        assert (response.status_code, response.json()["state"]) == (200, "approved")
        assert await money(session, number) == ("paid", 10_000, 0, 0)
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert refund_requests == [refund.refund_number, refund.refund_number]
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)

    async def test_a_failed_refund_needs_room_to_be_executed_again(
        self, session, client, run_jobs, payer, desk
    ):
        number = await paid_order(session, client, run_jobs, payer, fen=30_000)
        refund_id = await requested(client, desk.requester, number, 20_000)
        await approve(client, desk.finance, refund_id)
        wechat.fail_next("NOT_ENOUGH", operation="refund")
        await execute(client, desk.cashier, refund_id)
        await run_jobs()
        await requested(client, desk.requester, number, 20_000)

        response = await execute(client, desk.cashier, refund_id)

        assert (response.status_code, response.json()["error"]) == (409, "refund_exceeds_paid")
        assert (await reload_refund(session, refund_id)).state == "failed"
        assert await money(session, number) == ("paid", 20_000, 0, 0)

    async def test_the_channel_closing_the_refund_fails_it(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)

        await execute(client, desk.cashier, refund_id)
        with wechat.refunding(outcome="CLOSED"):
            await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "failed"
        assert await money(session, number) == ("paid", 0, 0, 0)
        [anomaly] = (await session.scalars(select(Anomaly))).all()
        assert (anomaly.kind, anomaly.refund_id) == ("refund_stuck", refund.id)
        assert await session.scalar(select(func.count()).select_from(SandboxHisRefund)) == 0


class TestConfirmation:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        """WeChat answers PROCESSING; its REFUND.SUCCESS notification makes it succeeded."""
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        await execute(client, desk.cashier, refund_id)

        with wechat.holding_notifications():
            await run_jobs()
        processing = await reload_refund(session, refund_id)
        assert processing.state == "executing" and processing.channel_refund_id
        assert await money(session, number) == ("paid", 10_000, 0, 0)

        assert (
            await wechat_pay_sandbox(session, get_settings().integrations.wechat_pay).release_notifications()
            == 1
        )
        await session.commit()
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)

    async def test_without_a_notification_the_query_sweep_confirms(
        self, session, client, run_jobs, payer, desk
    ):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        await execute(client, desk.cashier, refund_id)
        with wechat.holding_notifications():
            await run_jobs()
            clock.travel(timedelta(seconds=90))
            await run_jobs()
            assert (await reload_refund(session, refund_id)).state == "executing"

            clock.travel(timedelta(seconds=60))
            await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)
        assert await session.scalar(select(func.count()).select_from(SandboxHisRefund)) == 1

    async def test_duplicate_notifications_count_once(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)
        refund_id = await requested(client, desk.requester, number, 10_000)
        await approve(client, desk.finance, refund_id)
        await execute(client, desk.cashier, refund_id)

        with wechat.duplicating(4):
            await run_jobs()
        clock.travel(timedelta(minutes=3))
        await run_jobs()

        refund = await reload_refund(session, refund_id)
        assert refund.state == "succeeded"
        assert await money(session, number) == ("partially_refunded", 10_000, 10_000, 10_000)
        his = (await session.scalars(select(SandboxHisRefund))).all()
        assert [(r.refund_number, r.amount_fen) for r in his] == [(refund.refund_number, 10_000)]


class TestHisRefundWriteBack:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)

        refund_id = await refunded(session, client, run_jobs, desk, number, 10_000)

        refund = await reload_refund(session, refund_id)
        assert refund.his_state == "written"
        [row] = (await session.scalars(select(SandboxHisRefund))).all()
        assert (row.refund_number, row.order_number, row.amount_fen) == (refund.refund_number, number, 10_000)

    async def test_a_busy_his_is_retried(self, session, client, run_jobs, payer, desk):
        from ihos.integrations.his.sandbox import control as his

        number = await paid_order(session, client, run_jobs, payer)
        his.fail_next_write_backs(2)

        refund_id = await refunded(session, client, run_jobs, desk, number, 10_000)
        assert (await reload_refund(session, refund_id)).his_state == "none"
        for _ in range(3):
            clock.travel(timedelta(minutes=2))
            await run_jobs()

        assert (await reload_refund(session, refund_id)).his_state == "written"
        assert await session.scalar(select(func.count()).select_from(SandboxHisRefund)) == 1

    async def test_a_refund_before_the_charge_reached_the_his_waits_for_it(
        self, session, client, run_jobs, payer, desk
    ):
        """The charge write-back is still being retried when the refund succeeds: the refund is
        written after it, not dropped."""
        from ihos.integrations.his.sandbox import control as his

        number = (await make_order(session, payer, lines=lines_of(30_000))).order_number
        his.fail_next_write_backs(3)
        await paid(client, session, run_jobs, payer, number, "wechat")
        assert (await reload_order(session, number)).his_state == "pending"

        refund_id = await refunded(session, client, run_jobs, desk, number, 10_000)
        assert (await reload_refund(session, refund_id)).state == "succeeded"
        for _ in range(6):
            clock.travel(timedelta(minutes=5))
            await run_jobs()

        assert (await reload_order(session, number)).his_state == "written"
        assert (await reload_refund(session, refund_id)).his_state == "written"
        [row] = (await session.scalars(select(SandboxHisRefund))).all()
        assert (row.order_number, row.amount_fen) == (number, 10_000)

    async def test_a_full_refund_cancels_the_bill_in_the_his(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer, fen=30_000)

        await refunded(session, client, run_jobs, desk, number, 30_000)

        [bill] = (await session.scalars(select(SandboxHisClinicBill))).all()
        assert (bill.state, bill.paid_order_number) == ("cancelled", number)
        assert await money(session, number) == ("refunded", 30_000, 30_000, 30_000)
