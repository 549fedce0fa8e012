"""The finance desk (FI-01…FI-03): order search and detail with its timeline, refund search and
statistics, channels, the approval chain and refund authorities; who may use each route. And the
patient's own orders (PT-19 spending history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ihos.integrations.payment.wechat.sandbox import control as wechat
from ihos.kit.time import clock
from ihos.models.billing import (
    Anomaly,
    PaymentChannelSetting,
    Refund,
    RefundApproval,
    RefundApprovalLevel,
    RefundAuthority,
)
from ihos.models.patients import Patient
from tests.billing.conftest import LIU_YANG, ZHANG_WEI, make_order, paid, verified_patient
from tests.billing.test_refunds import (
    Clerk,
    Desk,
    clerk,
    finance_desk,
    lines_of,
    paid_clinic_bill,
    paid_order,
    refunded,
    reject,
    reload_order,
    requested,
)
from tests.factories import bearer, make_account, make_staff, patient_token, staff_token

FINANCE = "/api/v1/finance"


@pytest.fixture
async def desk(session) -> Desk:
    return await finance_desk(session)


async def search(client: Any, who: Clerk, path: str, **params: Any) -> list[str]:
    """The order numbers (or refund numbers) a search finds, in the order shown."""
    response = await client.get(f"{FINANCE}/{path}", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    key = "order_number" if path == "orders" else "refund_number"
    return [item[key] for item in response.json()["items"]]


# ---------------------------------------------------------------------------------------------
# orders


@dataclass
class Orders:
    wechat: str  # 张伟, 35.00, paid with WeChat
    alipay: str  # 张伟, 300.00, paid with Alipay
    unpaid: str  # 张伟, 35.00, not paid
    stranger: str  # 刘洋, 35.00, paid with WeChat
    started: datetime


@pytest.fixture
async def orders(session, client, run_jobs, payer) -> Orders:
    # Two days ago, so that the desk's sessions (opened now) are still fresh when the tests search.
    clock.freeze(clock.now() - timedelta(days=2, minutes=5))
    started = clock.now()
    wechat_paid = (await make_order(session, payer)).order_number
    await paid(client, session, run_jobs, payer, wechat_paid, "wechat")
    clock.travel(timedelta(days=1))
    alipay_paid = await paid_order(session, client, run_jobs, payer, fen=30_000, channel="alipay")
    clock.travel(timedelta(days=1))
    unpaid = (await make_order(session, payer)).order_number
    clock.travel(timedelta(minutes=1))
    liu = await verified_patient(session, LIU_YANG)
    stranger = (await make_order(session, liu)).order_number
    await paid(client, session, run_jobs, liu, stranger, "wechat")
    patient = await session.get_one(Patient, payer.patient_id)
    patient.health_card_number = "E11010519850312013500"
    return Orders(wechat_paid, alipay_paid, unpaid, stranger, started)


class TestOrderSearch:
    async def test_it_works(self, session, client, desk, orders):
        found = await client.get(f"{FINANCE}/orders", headers=desk.finance.headers)

        body = found.json()
        assert body["total"] == 4
        assert [o["order_number"] for o in body["items"]] == [
            orders.stranger,
            orders.unpaid,
            orders.alipay,
            orders.wechat,
        ]
        [first] = [o for o in body["items"] if o["order_number"] == orders.wechat]
        assert (
            first["state"],
            first["channel"],
            first["payable_fen"],
            first["paid_fen"],
            first["his_state"],
        ) == (
            "paid",
            "wechat",
            3_500,
            3_500,
            "written",
        )
        # The patient of each order, masked as everywhere on the desk (no per-order look-up needed).
        assert [o["patient_name"] for o in body["items"]] == ["刘*", "张*", "张*", "张*"]
        assert first["his_receipt_number"].startswith("FP") and first["his_written_at"]

    async def test_by_order_number_or_transaction_id(self, session, client, desk, orders):
        transaction_id = (await reload_order(session, orders.alipay)).transaction_id

        assert await search(client, desk.finance, "orders", order_number=orders.wechat) == [orders.wechat]
        assert await search(client, desk.finance, "orders", order_number=transaction_id) == [orders.alipay]
        assert await search(client, desk.finance, "orders", order_number="IH00000000000000000000") == []

    async def test_by_patient_or_card_number(self, session, client, desk, orders):
        mine = [orders.unpaid, orders.alipay, orders.wechat]

        for text in (ZHANG_WEI["name"], ZHANG_WEI["id_number"], ZHANG_WEI["phone"]):
            assert await search(client, desk.finance, "orders", patient=text) == mine, text
        assert await search(client, desk.finance, "orders", card_number="E11010519850312013500") == mine
        assert await search(client, desk.finance, "orders", patient=LIU_YANG["id_number"]) == [
            orders.stranger
        ]
        assert await search(client, desk.finance, "orders", patient="张") == []
        assert await search(client, desk.finance, "orders", card_number="E0000") == []

    async def test_by_channel_and_state(self, session, client, desk, orders):
        assert await search(client, desk.finance, "orders", channel="alipay") == [orders.alipay]
        assert await search(client, desk.finance, "orders", channel="wechat") == [
            orders.stranger,
            orders.wechat,
        ]
        assert await search(client, desk.finance, "orders", state="created") == [orders.unpaid]
        assert await search(
            client, desk.finance, "orders", state="paid", channel="wechat", patient="张伟"
        ) == [orders.wechat]

    async def test_by_time(self, session, client, desk, orders):
        day_two = (orders.started + timedelta(hours=12)).isoformat()
        day_three = (orders.started + timedelta(days=1, hours=12)).isoformat()

        assert await search(client, desk.finance, "orders", until=day_two) == [orders.wechat]
        assert await search(client, desk.finance, "orders", since=day_two, until=day_three) == [orders.alipay]
        assert await search(client, desk.finance, "orders", since=day_three) == [
            orders.stranger,
            orders.unpaid,
        ]
        # A time without its zone is ambiguous (Beijing or UTC?): refused, not guessed.
        naive = await client.get(
            f"{FINANCE}/orders", headers=desk.finance.headers, params={"since": "2026-01-01T00:00:00"}
        )
        assert naive.status_code == 422

    async def test_by_amount_and_pages(self, session, client, desk, orders):
        assert await search(client, desk.finance, "orders", min_amount_fen=10_000) == [orders.alipay]
        assert await search(client, desk.finance, "orders", max_amount_fen=3_500, patient="张伟") == [
            orders.unpaid,
            orders.wechat,
        ]
        assert await search(client, desk.finance, "orders", min_amount_fen=3_501, max_amount_fen=29_999) == []
        response = await client.get(
            f"{FINANCE}/orders", headers=desk.finance.headers, params={"page": 2, "page_size": 3}
        )
        body = response.json()
        assert (body["total"], body["page"], body["page_size"]) == (4, 2, 3)
        assert [o["order_number"] for o in body["items"]] == [orders.wechat]


class TestOrderDetail:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        """Everything that happened to an order: lines, attempts, payments, notifications, refunds with
        their approvals, anomalies."""
        number = (await make_order(session, payer)).order_number
        with wechat.paying(3_000):
            await paid(client, session, run_jobs, payer, number)
        refund_id = await refunded(session, client, run_jobs, desk, number, 1_000)

        response = await client.get(f"{FINANCE}/orders/{number}", headers=desk.finance.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert (
            body["order_number"],
            body["state"],
            body["patient_name"],
            body["paid_fen"],
            body["refunded_fen"],
        ) == (
            number,
            "partially_refunded",
            "张*",
            3_000,
            1_000,
        )
        assert body["his_receipt_number"].startswith("FP")
        assert body["his_written_at"] is not None and body["closed_at"] is None
        assert [(x["item_code"], x["name"], x["amount_fen"]) for x in body["lines"]] == [
            ("JC0001", "血常规", 2_500),
            ("ZC0001", "复诊诊查费", 1_000),
        ]
        assert [(x["channel"], x["scene"], x["is_current"]) for x in body["attempts"]] == [
            ("wechat", "h5", True)
        ]
        assert [
            (x["channel"], x["amount_fen"], x["disposition"], x["refunded_fen"]) for x in body["payments"]
        ] == [("wechat", 3_000, "applied", 1_000)]
        assert [(x["kind"], x["is_verified"], x["outcome"]) for x in body["notifications"]] == [
            ("payment", True, "paid"),
            ("refund", True, "succeeded"),
        ]
        assert [(x["id"], x["amount_fen"], x["state"]) for x in body["refunds"]] == [
            (refund_id, 1_000, "succeeded")
        ]
        [refund] = body["refunds"]
        assert (refund["order_number"], refund["channel"], refund["requested_by"]["id"]) == (
            number,
            "wechat",
            str(desk.requester.id),
        )
        assert [(x["refund_id"], x["level"], x["approver_id"], x["decision"]) for x in body["approvals"]] == [
            (refund_id, 1, str(desk.finance.id), "approved")
        ]
        [approval] = body["approvals"]
        assert (approval["approver"]["id"], approval["approver"]["name"]) == (str(desk.finance.id), "王医生")
        assert approval["approver"]["staff_number"].startswith("S")
        assert [(x["kind"], x["order_number"], x["state"]) for x in body["anomalies"]] == [
            ("amount_mismatch", number, "open")
        ]

    async def test_an_unknown_order(self, session, client, desk):
        response = await client.get(f"{FINANCE}/orders/IH00000000000000000000", headers=desk.finance.headers)

        assert (response.status_code, response.json()["error"]) == (404, "order_not_found")


# ---------------------------------------------------------------------------------------------
# refunds


@dataclass
class Refunds:
    wechat_done: str
    wechat_waiting: str
    alipay_rejected: str
    alipay_done: str


@pytest.fixture
async def refunds(session, client, run_jobs, payer, desk) -> Refunds:
    async def number_of(refund_id: str) -> str:
        return str(
            await session.scalar(select(Refund.refund_number).where(Refund.id == uuid.UUID(refund_id)))
        )

    clock.freeze()
    on_wechat = await paid_order(session, client, run_jobs, payer, fen=30_000)
    on_alipay = await paid_order(session, client, run_jobs, payer, fen=30_000, channel="alipay")
    wechat_done = await refunded(session, client, run_jobs, desk, on_wechat, 10_000)
    clock.travel(timedelta(minutes=1))
    wechat_waiting = await requested(client, desk.requester, on_wechat, 5_000)
    clock.travel(timedelta(minutes=1))
    alipay_rejected = await requested(client, desk.requester, on_alipay, 20_000)
    await reject(client, desk.finance, alipay_rejected)
    clock.travel(timedelta(minutes=1))
    alipay_done = await refunded(session, client, run_jobs, desk, on_alipay, 3_000)
    return Refunds(
        await number_of(wechat_done),
        await number_of(wechat_waiting),
        await number_of(alipay_rejected),
        await number_of(alipay_done),
    )


class TestRefundSearch:
    async def test_each_refund_says_its_order_channel_and_requester(self, session, client, desk, refunds):
        response = await client.get(f"{FINANCE}/refunds", headers=desk.finance.headers)

        found = {r["refund_number"]: r for r in response.json()["items"]}
        rejected, waiting = found[refunds.alipay_rejected], found[refunds.wechat_waiting]
        assert (rejected["channel"], waiting["channel"]) == ("alipay", "wechat")
        assert rejected["order_number"] != waiting["order_number"]
        assert rejected["order_number"].startswith("IH")
        assert waiting["requested_by"] == {
            "kind": "staff",
            "id": str(desk.requester.id),
            "name": "王医生",
            "staff_number": waiting["requested_by"]["staff_number"],
        }
        assert (rejected["rejection_note"], waiting["rejection_note"]) == ("不符合退费条件", None)

    async def test_a_patients_request_names_the_account_masked(self, session, client, run_jobs, payer, desk):
        number = await paid_clinic_bill(session, client, run_jobs, payer)
        asked = await client.post(
            f"/api/v1/me/orders/{number}/refunds", headers=payer.headers, json={"reason": "医生取消了检查"}
        )

        response = await client.get(f"{FINANCE}/orders/{number}", headers=desk.finance.headers)

        [refund] = response.json()["refunds"]
        assert refund["id"] == asked.json()["id"]
        assert refund["requested_by"] == {
            "kind": "patient",
            "id": str(payer.account_id),
            "name": "139****0001",
            "staff_number": None,
        }

    async def test_it_works(self, session, client, desk, refunds):
        assert await search(client, desk.finance, "refunds") == [
            refunds.alipay_done,
            refunds.alipay_rejected,
            refunds.wechat_waiting,
            refunds.wechat_done,
        ]
        assert await search(client, desk.finance, "refunds", state="succeeded") == [
            refunds.alipay_done,
            refunds.wechat_done,
        ]
        assert await search(client, desk.finance, "refunds", state="pending_approval") == [
            refunds.wechat_waiting
        ]
        assert await search(client, desk.finance, "refunds", channel="wechat") == [
            refunds.wechat_waiting,
            refunds.wechat_done,
        ]
        assert await search(client, desk.finance, "refunds", refund_number=refunds.alipay_rejected) == [
            refunds.alipay_rejected
        ]
        since = (clock.now() - timedelta(seconds=90)).isoformat()
        assert await search(client, desk.finance, "refunds", since=since) == [
            refunds.alipay_done,
            refunds.alipay_rejected,
        ]

    async def test_statistics_by_channel_and_state(self, session, client, desk, refunds):
        url = f"{FINANCE}/refunds/statistics"
        since = (clock.now() - timedelta(seconds=90)).isoformat()

        everything = await client.get(url, headers=desk.finance.headers)
        lately = await client.get(url, headers=desk.finance.headers, params={"since": since})

        assert [(s["channel"], s["state"], s["count"], s["amount_fen"]) for s in everything.json()] == [
            ("alipay", "rejected", 1, 20_000),
            ("alipay", "succeeded", 1, 3_000),
            ("wechat", "pending_approval", 1, 5_000),
            ("wechat", "succeeded", 1, 10_000),
        ]
        assert [(s["channel"], s["state"], s["count"]) for s in lately.json()] == [
            ("alipay", "rejected", 1),
            ("alipay", "succeeded", 1),
        ]


# ---------------------------------------------------------------------------------------------
# configuration


async def channel_settings(session: Any) -> list[tuple[str, bool, str, int]]:
    rows = (
        await session.scalars(
            select(PaymentChannelSetting)
            .order_by(PaymentChannelSetting.channel)
            .execution_options(populate_existing=True)
        )
    ).all()
    return [(r.channel, r.is_enabled, r.display_name, r.sort_order) for r in rows]


class TestChannels:
    async def test_it_works(self, session, client, payer, desk):
        response = await client.put(
            f"{FINANCE}/payment-channels/unionpay",
            headers=desk.supervisor.headers,
            json={"is_enabled": False},
        )

        assert response.status_code == 200, response.text
        assert (response.json()["channel"], response.json()["is_enabled"]) == ("unionpay", False)
        offered = await client.get("/api/v1/payments/channels")
        assert [c["channel"] for c in offered.json()] == ["wechat", "alipay", "insurance"]
        number = (await make_order(session, payer)).order_number
        refused = await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "unionpay"}
        )
        assert refused.json()["error"] == "channel_not_available"

    async def test_the_desk_lists_them_all(self, session, client, desk):
        response = await client.get(f"{FINANCE}/payment-channels", headers=desk.finance.headers)

        assert [(c["channel"], c["display_name"], c["is_enabled"]) for c in response.json()] == [
            ("wechat", "微信支付", True),
            ("alipay", "支付宝", True),
            ("unionpay", "银联云闪付", True),
            ("insurance", "医保移动支付", True),
        ]

    async def test_enabling_again_with_a_name_and_place(self, session, client, desk):
        url = f"{FINANCE}/payment-channels/alipay"
        await client.put(url, headers=desk.supervisor.headers, json={"is_enabled": False})

        response = await client.put(
            url,
            headers=desk.supervisor.headers,
            json={"is_enabled": True, "display_name": "支付宝支付", "sort_order": 9},
        )

        assert response.status_code == 200
        assert ("alipay", True, "支付宝支付", 9) in await channel_settings(session)

    async def test_only_the_supervisor_may(self, session, client, desk):
        before = await channel_settings(session)

        response = await client.put(
            f"{FINANCE}/payment-channels/wechat", headers=desk.finance.headers, json={"is_enabled": False}
        )

        assert response.status_code == 403
        assert await channel_settings(session) == before

    async def test_an_unknown_channel(self, session, client, desk):
        before = await channel_settings(session)

        response = await client.put(
            f"{FINANCE}/payment-channels/paypal", headers=desk.supervisor.headers, json={"is_enabled": True}
        )

        assert (response.status_code, response.json()["error"]) == (400, "channel_not_available")
        assert await channel_settings(session) == before


async def chain(session: Any) -> list[tuple[int, int, str]]:
    rows = (
        await session.scalars(
            select(RefundApprovalLevel)
            .order_by(RefundApprovalLevel.level)
            .execution_options(populate_existing=True)
        )
    ).all()
    return [(r.level, r.min_amount_fen, r.role_code) for r in rows]


DEFAULT_CHAIN = [(1, 0, "finance"), (2, 50_000, "finance_supervisor")]


def levels(*items: tuple[int, int, str]) -> list[dict[str, Any]]:
    return [{"level": a, "min_amount_fen": b, "role_code": c} for a, b, c in items]


class TestApprovalChain:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        new_chain = [(1, 0, "finance"), (2, 10_000, "finance_supervisor"), (3, 100_000, "finance_supervisor")]

        response = await client.put(
            f"{FINANCE}/refund-approval-levels", headers=desk.supervisor.headers, json=levels(*new_chain)
        )

        assert response.status_code == 200, response.text
        assert [(x["level"], x["min_amount_fen"], x["role_code"]) for x in response.json()] == new_chain
        assert await chain(session) == new_chain
        number = await paid_order(session, client, run_jobs, payer)
        assert (
            await client.post(
                f"{FINANCE}/orders/{number}/refunds",
                headers=desk.requester.headers,
                json={"amount_fen": 10_000, "reason": "检查取消"},
            )
        ).json()["levels_required"] == 2

    async def test_the_desk_reads_it(self, session, client, desk):
        response = await client.get(f"{FINANCE}/refund-approval-levels", headers=desk.finance.headers)

        assert [(x["level"], x["min_amount_fen"], x["role_code"]) for x in response.json()] == DEFAULT_CHAIN
        assert [x["role_name"] for x in response.json()] == ["财务", "财务主管"]

    @pytest.mark.parametrize(
        "body",
        [
            levels((1, 0, "finance"), (3, 50_000, "finance_supervisor")),
            levels((2, 0, "finance")),
            levels((1, 0, "finance"), (1, 50_000, "finance_supervisor")),
            levels((1, 50_000, "finance"), (2, 0, "finance_supervisor")),
            levels((1, 0, "treasurer")),
            levels((1, 0, "finance"), (2, 50_000, "system_admin")),
            [],
        ],
        ids=[
            "gap",
            "not_from_one",
            "twice_one_level",
            "decreasing",
            "unknown_role",
            "an_administrator",
            "empty",
        ],
    )
    async def test_a_wrong_chain_is_refused(self, session, client, desk, body):
        response = await client.put(
            f"{FINANCE}/refund-approval-levels", headers=desk.supervisor.headers, json=body
        )

        assert (response.status_code, response.json()["error"]) == (400, "invalid_approval_chain")
        assert await chain(session) == DEFAULT_CHAIN

    async def test_a_negative_amount_is_malformed(self, session, client, desk):
        response = await client.put(
            f"{FINANCE}/refund-approval-levels",
            headers=desk.supervisor.headers,
            json=levels((1, -1, "finance")),
        )

        assert response.status_code == 422
        assert await chain(session) == DEFAULT_CHAIN

    async def test_only_the_supervisor_may(self, session, client, desk):
        response = await client.put(
            f"{FINANCE}/refund-approval-levels", headers=desk.finance.headers, json=levels((1, 0, "finance"))
        )

        assert response.status_code == 403
        assert await chain(session) == DEFAULT_CHAIN


async def authorities(session: Any) -> list[tuple[uuid.UUID, bool, bool, int | None, bool]]:
    rows = (
        await session.scalars(
            select(RefundAuthority)
            .order_by(RefundAuthority.staff_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return [(r.staff_id, r.may_request, r.may_approve, r.approval_limit_fen, r.may_execute) for r in rows]


class TestRefundAuthorities:
    async def test_it_works(self, session, client, run_jobs, payer, desk):
        newcomer = await clerk(session, desk.org, roles=("finance",))

        response = await client.put(
            f"{FINANCE}/refund-authorities/{newcomer.id}",
            headers=desk.supervisor.headers,
            json={"may_request": True, "may_approve": True, "approval_limit_fen": 20_000},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (
            body["staff_id"],
            body["may_request"],
            body["may_approve"],
            body["approval_limit_fen"],
            body["may_execute"],
        ) == (
            str(newcomer.id),
            True,
            True,
            20_000,
            False,
        )
        number = await paid_order(session, client, run_jobs, payer)
        asked = await client.post(
            f"{FINANCE}/orders/{number}/refunds",
            headers=newcomer.headers,
            json={"amount_fen": 1_000, "reason": "检查取消"},
        )
        assert asked.status_code == 201

    async def test_the_desk_lists_them(self, session, client, desk):
        response = await client.get(f"{FINANCE}/refund-authorities", headers=desk.finance.headers)

        rows = {
            x["staff_id"]: (x["may_request"], x["may_approve"], x["may_execute"]) for x in response.json()
        }
        assert rows == {
            str(desk.requester.id): (True, False, False),
            str(desk.finance.id): (False, True, False),
            str(desk.supervisor.id): (False, True, False),
            str(desk.cashier.id): (False, False, True),
        }

    async def test_taking_authority_away(self, session, client, run_jobs, payer, desk):
        await client.put(
            f"{FINANCE}/refund-authorities/{desk.requester.id}", headers=desk.supervisor.headers, json={}
        )
        number = await paid_order(session, client, run_jobs, payer)

        response = await client.post(
            f"{FINANCE}/orders/{number}/refunds",
            headers=desk.requester.headers,
            json={"amount_fen": 1_000, "reason": "检查取消"},
        )

        assert (response.status_code, response.json()["error"]) == (403, "no_refund_authority")

    @pytest.mark.parametrize("role", ["system_admin", "security_admin", "audit_admin"])
    async def test_an_administrator_gets_none(self, session, client, desk, role):
        admin = await make_staff(session, desk.org, roles=[role])
        admin_id = admin.id
        before = await authorities(session)

        response = await client.put(
            f"{FINANCE}/refund-authorities/{admin_id}",
            headers=desk.supervisor.headers,
            json={"may_request": True, "may_execute": True},
        )

        assert (response.status_code, response.json()["error"]) == (409, "refund_authority_not_allowed")
        assert await authorities(session) == before

    async def test_unknown_staff(self, session, client, desk):
        before = await authorities(session)

        response = await client.put(
            f"{FINANCE}/refund-authorities/{uuid.uuid4()}",
            headers=desk.supervisor.headers,
            json={"may_request": True},
        )

        assert (response.status_code, response.json()["error"]) == (404, "staff_not_found")
        assert await authorities(session) == before

    async def test_only_the_supervisor_may(self, session, client, desk):
        before = await authorities(session)

        response = await client.put(
            f"{FINANCE}/refund-authorities/{desk.finance.id}",
            headers=desk.finance.headers,
            json={"may_request": True, "may_approve": True, "may_execute": True},
        )

        assert response.status_code == 403
        assert await authorities(session) == before


class TestMyRefundAuthority:
    async def test_it_works(self, session, client, desk):
        response = await client.get(f"{FINANCE}/refund-authorities/mine", headers=desk.finance.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["staff_id"], body["staff_name"]) == (str(desk.finance.id), "王医生")
        assert (
            body["may_request"],
            body["may_approve"],
            body["approval_limit_fen"],
            body["may_execute"],
        ) == (
            False,
            True,
            None,
            False,
        )

    async def test_none_granted_allows_nothing(self, session, client, desk):
        # A doctor holds no finance permission at all and may still ask what he may do with refunds.
        doctor = await clerk(session, desk.org, roles=("doctor",))

        response = await client.get(f"{FINANCE}/refund-authorities/mine", headers=doctor.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["staff_id"] == str(doctor.id)
        assert (body["may_request"], body["may_approve"], body["may_execute"]) == (False, False, False)

    async def test_patients_and_anonymous_are_refused(self, session, client, payer):
        assert (await client.get(f"{FINANCE}/refund-authorities/mine")).status_code == 401
        response = await client.get(f"{FINANCE}/refund-authorities/mine", headers=payer.headers)
        assert response.status_code == 403


# ---------------------------------------------------------------------------------------------
# who may use the finance desk


@dataclass
class World:
    order_number: str
    refund_id: str
    anomaly_id: str
    staff_id: uuid.UUID


@pytest.fixture
async def world(session, client, run_jobs, payer, desk) -> World:
    number = (await make_order(session, payer, lines=lines_of(30_000))).order_number
    with wechat.paying(29_000):
        await paid(client, session, run_jobs, payer, number)
    refund_id = await requested(client, desk.requester, number, 1_000)
    anomaly_id = await session.scalar(select(Anomaly.id))
    return World(number, refund_id, str(anomaly_id), desk.cashier.id)


def routes(world: World) -> list[tuple[str, str, str, Any]]:
    """(access needed, method, path, body) for every route of the finance desk."""
    number, refund, anomaly = world.order_number, world.refund_id, world.anomaly_id
    reason = {"amount_fen": 100, "reason": "检查取消"}
    return [
        ("read", "GET", f"{FINANCE}/orders", None),
        ("read", "GET", f"{FINANCE}/orders/{number}", None),
        ("read", "GET", f"{FINANCE}/refunds", None),
        ("read", "GET", f"{FINANCE}/refunds/statistics", None),
        ("read", "GET", f"{FINANCE}/anomalies", None),
        ("read", "GET", f"{FINANCE}/payment-channels", None),
        ("read", "GET", f"{FINANCE}/refund-approval-levels", None),
        ("read", "GET", f"{FINANCE}/refund-authorities", None),
        ("refund", "POST", f"{FINANCE}/orders/{number}/refunds", reason),
        ("refund", "POST", f"{FINANCE}/refunds/{refund}/approve", {"note": "同意"}),
        ("refund", "POST", f"{FINANCE}/refunds/{refund}/reject", {"note": "驳回"}),
        ("refund", "POST", f"{FINANCE}/refunds/{refund}/execute", None),
        ("handle", "POST", f"{FINANCE}/anomalies/{anomaly}/handle", {"note": "已核实"}),
        ("configure", "PUT", f"{FINANCE}/payment-channels/unionpay", {"is_enabled": False}),
        ("configure", "PUT", f"{FINANCE}/refund-approval-levels", levels((1, 0, "finance"))),
        ("configure", "PUT", f"{FINANCE}/refund-authorities/{world.staff_id}", {"may_request": True}),
    ]


# What each caller may do; refund actions need a per-person authority nobody in this cast holds.
MAY = {
    "anonymous": set(),
    "patient": set(),
    "doctor": set(),
    "system_admin": set(),
    "security_admin": set(),
    "audit_admin": set(),
    "customer_service": {"read"},
    "finance": {"read", "handle"},
    "finance_supervisor": {"read", "handle", "configure"},
}


async def token_for(session: Any, org: Any, who: str) -> str | None:
    if who == "anonymous":
        return None
    if who == "patient":
        return await patient_token(session, await make_account(session))
    return await staff_token(session, await make_staff(session, org, roles=[who]))


async def everything(session: Any) -> tuple[Any, ...]:
    """What a finance route could change, read afresh."""
    refund_rows = (
        await session.execute(select(Refund.id, Refund.state, Refund.levels_approved).order_by(Refund.id))
    ).all()
    anomaly_rows = (await session.execute(select(Anomaly.id, Anomaly.state, Anomaly.note))).all()
    return (
        tuple(refund_rows),
        await session.scalar(select(func.count()).select_from(RefundApproval)),
        tuple(anomaly_rows),
        tuple(await channel_settings(session)),
        tuple(await chain(session)),
        tuple(await authorities(session)),
    )


class TestAuthorisation:
    @pytest.mark.parametrize("who", list(MAY))
    async def test_each_route(self, session, client, desk, world, who):
        token = await token_for(session, desk.org, who)
        headers = bearer(token) if token else {}
        for access, method, path, body in routes(world):
            before = await everything(session)

            response = await client.request(method, path, headers=headers, json=body)

            if who == "anonymous":
                expected = 401
            elif access in MAY[who]:
                expected = 200
            else:
                expected = 403
            assert response.status_code == expected, (method, path, response.text)
            if expected != 200:
                assert await everything(session) == before, (method, path)

    async def test_a_refusal_is_audited(self, session, client, desk, world):
        from ihos.models.audit import AuditEntry

        token = await token_for(session, desk.org, "doctor")

        await client.get(f"{FINANCE}/orders", headers=bearer(token))

        denial = await session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied"))
        assert (denial.result, denial.details["permission"]) == ("denied", "finance.read")


# ---------------------------------------------------------------------------------------------
# the patient's own orders (PT-19)


class TestMyOrders:
    async def test_it_works(self, session, client, run_jobs, payer):
        clock.freeze()
        first = await paid_order(session, client, run_jobs, payer)
        clock.travel(timedelta(minutes=1))
        second = (await make_order(session, payer)).order_number
        stranger = await verified_patient(session, LIU_YANG)
        await make_order(session, stranger)

        response = await client.get("/api/v1/me/orders", headers=payer.headers)

        body = response.json()
        assert body["total"] == 2
        assert [(o["order_number"], o["state"], o["payable_fen"]) for o in body["items"]] == [
            (second, "created", 3_500),
            (first, "paid", 30_000),
        ]

    async def test_by_state(self, session, client, run_jobs, payer):
        first = await paid_order(session, client, run_jobs, payer)
        await make_order(session, payer)

        response = await client.get("/api/v1/me/orders", headers=payer.headers, params={"state": "paid"})

        assert [o["order_number"] for o in response.json()["items"]] == [first]

    async def test_by_several_states(self, session, client, run_jobs, payer, desk):
        clock.freeze()
        refunded_order = await paid_order(session, client, run_jobs, payer, fen=3_000)
        await refunded(session, client, run_jobs, desk, refunded_order, 1_000)
        clock.travel(timedelta(minutes=1))
        await paid_order(session, client, run_jobs, payer, fen=3_000)
        clock.travel(timedelta(minutes=1))
        unpaid = (await make_order(session, payer)).order_number

        def listed(state: str) -> Any:
            return client.get("/api/v1/me/orders", headers=payer.headers, params={"state": state})

        refunds = (await listed("partially_refunded,refunded")).json()
        payable = (await listed("created,paying")).json()
        assert (refunds["total"], [o["order_number"] for o in refunds["items"]]) == (1, [refunded_order])
        assert (payable["total"], [o["order_number"] for o in payable["items"]]) == (1, [unpaid])
        assert (await listed("refunding,refunded")).json()["total"] == 0

    @pytest.mark.parametrize("state", ["paid,", ",paid", "paid;refunded", "PAID", "paid, refunded"])
    async def test_a_malformed_state_list_is_refused(self, session, client, payer, state):
        response = await client.get("/api/v1/me/orders", headers=payer.headers, params={"state": state})

        assert (response.status_code, response.json()["error"]) == (422, "invalid_request")

    async def test_one_order(self, session, client, run_jobs, payer):
        number = await paid_order(session, client, run_jobs, payer)

        response = await client.get(f"/api/v1/me/orders/{number}", headers=payer.headers)

        body = response.json()
        assert (body["order_number"], body["paid_fen"], body["patient_name"]) == (number, 30_000, "张*")
        assert body["his_receipt_number"].startswith("FP") and body["his_written_at"]
        assert [(x["item_code"], x["name"], x["quantity"], x["amount_fen"]) for x in body["lines"]] == [
            ("JC0101", "增强CT", 1, 30_000)
        ]

    async def test_another_patients_order_is_not_found(self, session, client, run_jobs, payer):
        number = await paid_order(session, client, run_jobs, payer)
        stranger = await verified_patient(session, LIU_YANG)

        for path in (f"/api/v1/me/orders/{number}", f"/api/v1/me/orders/{number}/refunds"):
            response = await client.get(path, headers=stranger.headers)
            assert (response.status_code, response.json()["error"]) == (404, "order_not_found")
        assert (await client.get("/api/v1/me/orders", headers=stranger.headers)).json()["total"] == 0

    async def test_staff_and_anonymous_are_refused(self, session, client, run_jobs, payer, desk):
        number = await paid_order(session, client, run_jobs, payer)

        for path in (
            "/api/v1/me/orders",
            f"/api/v1/me/orders/{number}",
            f"/api/v1/me/orders/{number}/refunds",
        ):
            assert (await client.get(path)).status_code == 401
            staff = await client.get(path, headers=desk.finance.headers)
            assert (staff.status_code, staff.json()["error"]) == (403, "patients_only")
