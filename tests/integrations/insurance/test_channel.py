"""The insurance channel against the sandbox platform: prepay (6201+6202) with the split from the platform,
the patient's confirmation and its notification, queries, closing, refunds, the statement, signatures
both ways and the failure switches."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from ihos.integrations.payment.base import (
    ChannelError,
    FeeLine,
    InsuranceClaim,
    NotificationRejected,
    PrepayRequest,
    RefundRequest,
)
from ihos.integrations.payment.insurance import (
    InsuranceChannel,
    InsuranceSandboxSettings,
    InsuranceSettings,
    PayOrderReference,
    envelope,
    insurance_channel,
    live_config,
    sandbox,
    simulate_payment,
)
from ihos.integrations.payment.insurance.client import InsuranceClient
from ihos.integrations.payment.insurance.envelope import Party
from ihos.integrations.payment.insurance.sandbox import (
    InsuranceSandbox,
    InsuranceSandboxError,
    control,
    hospital_party,
    issue_authorisation,
    platform_party,
    sandbox_config,
)
from ihos.kit.time import clock, local_today, now
from ihos.models.sandbox_hospital import SandboxInsuranceOrder
from ihos.security.gm import SM2PrivateKey

NOTIFY_URL = "http://testserver/api/v1/payments/notifications/insurance"
ZHANG_WEI = ("张伟", "110105198503120135")  # employee, deductible not met, 1286.50 in the account
LIU_YANG = ("刘洋", "510107197905300190")  # employee, deductible met, 520.00 in the account
CHEN_JING = ("陈静", "330106199501150201")  # not insured
QIAN_DUODUO = ("钱多多", "110101199001010699")  # the platform times out for him
FENG_YIMING = ("冯一鸣", "110101199102020714")  # the platform is unavailable for him
CONSULTATION = FeeLine(
    code="001101000010000", name="普通门诊诊查费", quantity="1", unit_price_fen=5000, amount_fen=5000
)
DRUG = FeeLine(
    code="XA10BAA057A001020101234",
    name="盐酸二甲双胍缓释片",
    quantity="2",
    unit_price_fen=2500,
    amount_fen=5000,
)


def channel(session, *, references=None, **sandbox_settings) -> InsuranceChannel:  # type: ignore[no-untyped-def]
    settings = InsuranceSettings(sandbox=InsuranceSandboxSettings(**sandbox_settings))
    return insurance_channel(session, settings, references=references)


def request(
    order_number: str = "IH20261127000001",
    who: tuple[str, str] = ZHANG_WEI,
    lines: tuple[FeeLine, ...] = (CONSULTATION,),
    amount_fen: int | None = None,
    expires_in: timedelta = timedelta(minutes=30),
    authorisation: str | None = None,
) -> PrepayRequest:
    return PrepayRequest(
        order_number=order_number,
        description="门诊缴费",
        amount_fen=sum(line.amount_fen for line in lines) if amount_fen is None else amount_fen,
        expires_at=now() + expires_in,
        scene="h5",
        notify_url=NOTIFY_URL,
        insurance=InsuranceClaim(
            insured_name=who[0],
            insured_id_number=who[1],
            medical_type="11",
            fee_lines=lines,
            authorisation=authorisation,
        ),
    )


def refund(
    amount_fen: int, number: str = "RF20261127000001", order_number: str = "IH20261127000001"
) -> RefundRequest:
    return RefundRequest(
        refund_number=number,
        order_number=order_number,
        transaction_id=None,
        amount_fen=amount_fen,
        order_total_fen=10000,
        reason="患者取消",
        notify_url=NOTIFY_URL,
    )


async def paid_order(session, who=LIU_YANG, lines=(CONSULTATION, DRUG)):  # type: ignore[no-untyped-def]
    insurance = channel(session)
    prepay = await insurance.create_prepay(request(who=who, lines=lines))
    await simulate_payment(session, "IH20261127000001")
    return insurance, prepay


class TestPrepay:
    async def test_it_works(self, session):
        prepay = await channel(session).create_prepay(request(lines=(CONSULTATION, DRUG)))

        split = prepay.insurance
        assert prepay.channel == "insurance"
        assert split is not None
        # 张伟: the whole bill is under his deductible, his account pays it.
        assert (split.total_fen, split.fund_fen, split.personal_account_fen, split.self_pay_fen) == (
            10000,
            0,
            10000,
            0,
        )
        assert split.settlement_id.startswith("SETL")
        assert split.fields["setl_id"] == split.settlement_id
        assert split.fields["payOrdId"] == prepay.channel_reference
        assert split.fields["medfee_sumamt"] == "100.00"
        assert split.fields["fund_pay_sumamt"] == "0.00"
        assert split.fields["acct_pay"] == "100.00"
        assert split.fields["psn_cash_pay"] == "0.00"
        assert split.fields["preselfpay_amt"] == "5.00"  # 10 % of the 乙类 drug
        assert prepay.url == f"{sandbox.CASHIER_URL}?payOrdId={prepay.channel_reference}"
        order = await session.scalar(select(SandboxInsuranceOrder))
        assert (order.state, order.total_fen, order.account_fen) == ("presettled", 10000, 10000)

    async def test_the_split_adds_up_and_comes_from_the_platform(self, session):
        prepay = await channel(session).create_prepay(request(who=LIU_YANG, lines=(CONSULTATION, DRUG)))

        split = prepay.insurance
        assert split is not None
        # 刘洋: deductible met; 60 % of the 95.00 within policy; the rest from his account.
        assert (split.fund_fen, split.personal_account_fen, split.self_pay_fen) == (5700, 4300, 0)
        assert split.fund_fen + split.personal_account_fen + split.self_pay_fen == split.total_fen

    async def test_the_deductible_paid_by_one_order_counts_for_the_next(self, session):
        insurance = channel(session)
        first = await insurance.create_prepay(request(lines=(CONSULTATION,) * 3))
        await simulate_payment(session, "IH20261127000001")

        second = await insurance.create_prepay(request("IH20261127000002", lines=(CONSULTATION,) * 2))

        assert first.insurance is not None and second.insurance is not None
        assert first.insurance.fields["act_pay_dedc"] == "150.00"
        assert second.insurance.fields["act_pay_dedc"] == "50.00"  # 200 in all
        assert second.insurance.fund_fen == 3000  # 60 % of the 50.00 above it

    async def test_asking_again_for_the_same_order_gives_the_same_order(self, session):
        insurance = channel(session)
        first = await insurance.create_prepay(request())
        second = await insurance.create_prepay(request())

        assert first.channel_reference == second.channel_reference
        assert first.insurance == second.insurance
        assert await session.scalar(
            select(SandboxInsuranceOrder.id).where(SandboxInsuranceOrder.state == "presettled")
        )

    async def test_someone_not_insured_is_told_clearly(self, session):
        with pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request(who=CHEN_JING))

        assert refused.value.code == "not_insured"
        assert "自费" in refused.value.message
        assert refused.value.retryable is False
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None

    async def test_a_name_that_does_not_match(self, session):
        with pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request(who=("张卫", ZHANG_WEI[1])))

        assert refused.value.code == "name_mismatch"

    async def test_lines_that_do_not_add_up_are_refused_before_anything_is_sent(self, session):
        with pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request(amount_fen=9999))

        assert refused.value.code == "amount_mismatch"
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None

    async def test_without_a_claim(self, session):
        plain = PrepayRequest(
            order_number="IH1",
            description="x",
            amount_fen=1,
            expires_at=now(),
            scene="h5",
            notify_url=NOTIFY_URL,
        )
        with pytest.raises(ChannelError, match="insurance_claim_missing"):
            await channel(session).create_prepay(plain)

    async def test_an_order_number_used_for_another_bill_is_refused(self, session):
        insurance = channel(session)
        await insurance.create_prepay(request())

        with pytest.raises(ChannelError) as refused:
            await insurance.create_prepay(request(lines=(DRUG, CONSULTATION)))

        assert refused.value.code == "order_state"

    async def test_the_id_number_is_kept_encrypted(self, session):
        await channel(session).create_prepay(request())

        rows = (await session.execute(text("SELECT * FROM sandbox_insurance_orders"))).all()
        assert rows
        assert ZHANG_WEI[1] not in repr(rows)
        assert ZHANG_WEI[0] not in repr(rows)


@pytest.fixture
def uploads(monkeypatch) -> list[dict[str, Any]]:
    """The fee uploads (6201) the platform received, decrypted."""
    received: list[dict[str, Any]] = []
    upload = InsuranceSandbox._upload

    async def keep(self: InsuranceSandbox, data: dict[str, Any]) -> dict[str, Any]:
        received.append(data)
        return await upload(self, data)

    monkeypatch.setattr(InsuranceSandbox, "_upload", keep)
    return received


class TestAuthorisation:
    """Online payment carries the patient's authorisation from the insurance e-voucher (支付授权码 payAuthNo)
    in the fee upload (6201); the platform checks that it is the insured person's and still valid."""

    async def test_it_works(self, session, uploads):
        authorisation = issue_authorisation(ZHANG_WEI[1])

        prepay = await channel(session).create_prepay(request(authorisation=authorisation))

        assert prepay.insurance is not None
        [upload] = uploads
        assert (upload["payAuthNo"], upload["mdtrtCertType"]) == (authorisation, "01")
        assert len(authorisation) <= 40

    async def test_without_one_the_id_card_is_the_certificate(self, session, uploads):
        await channel(session).create_prepay(request())

        [upload] = uploads
        assert upload["mdtrtCertType"] == "02" and "payAuthNo" not in upload

    @pytest.mark.parametrize("whose", ["another person's", "forged", "malformed"])
    async def test_a_wrong_one_is_refused(self, session, whose):
        genuine = issue_authorisation(ZHANG_WEI[1])
        authorisation = {
            "another person's": issue_authorisation(LIU_YANG[1]),
            "forged": genuine[:-1] + ("1" if genuine.endswith("0") else "0"),  # one digit of its MAC changed
            "malformed": "not-an-authorisation",
        }[whose]

        with pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request(authorisation=authorisation))

        assert (refused.value.code, refused.value.retryable) == ("authorisation_invalid", False)
        assert refused.value.message == "医保电子凭证授权已失效，请重新授权后再支付"
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None

    async def test_an_expired_one_is_refused(self, session):
        clock.freeze()
        authorisation = issue_authorisation(ZHANG_WEI[1], valid_for=timedelta(minutes=5))
        clock.travel(timedelta(minutes=5, seconds=1))

        with pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(
                request(authorisation=authorisation, expires_in=timedelta(hours=1))
            )

        assert refused.value.code == "authorisation_invalid"
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None

    async def test_a_platform_that_requires_one(self, session):
        with pytest.raises(ChannelError) as refused:
            await channel(session, require_authorisation=True).create_prepay(request())

        assert (refused.value.code, refused.value.message) == (
            "authorisation_required",
            "请先在医保电子凭证中授权后再支付",
        )
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None
        authorised = request(authorisation=issue_authorisation(ZHANG_WEI[1]))
        assert (await channel(session, require_authorisation=True).create_prepay(authorised)).insurance


class TestPayment:
    async def test_it_works(self, session, run_jobs, delivered):
        insurance = channel(session)
        prepay = await insurance.create_prepay(request(who=LIU_YANG, lines=(CONSULTATION, DRUG)))
        assert (await insurance.query_payment("IH20261127000001")).state == "pending"

        await simulate_payment(session, "IH20261127000001")
        await run_jobs()

        assert len(delivered) == 1
        assert str(delivered[0].url) == NOTIFY_URL
        notification = await insurance.parse_notification(dict(delivered[0].headers), delivered[0].content)
        assert notification.kind == "payment"
        payment = notification.payment
        assert payment is not None and prepay.insurance is not None
        assert (payment.order_number, payment.state, payment.amount_fen) == (
            "IH20261127000001",
            "paid",
            10000,
        )
        assert payment.transaction_id == prepay.insurance.settlement_id
        assert payment.paid_at is not None and abs(payment.paid_at - now()) < timedelta(seconds=5)
        assert payment.raw["ownPayAmt"] == "0.00"
        assert notification.notification_id == f"{prepay.channel_reference}:SETL:6"
        queried = await insurance.query_payment("IH20261127000001")
        assert (queried.state, queried.amount_fen, queried.transaction_id) == (
            "paid",
            10000,
            payment.transaction_id,
        )

    async def test_the_cash_part_is_reported_settled_with_the_rest(self, session, run_jobs, delivered):
        # 王芳's account holds 35.20: the rest is cash, which the real cashier takes through WeChat Pay.
        insurance = channel(session)
        prepay = await insurance.create_prepay(request(who=("王芳", "310104199007210145")))
        await simulate_payment(session, "IH20261127000001")
        await run_jobs()

        assert prepay.insurance is not None
        assert (prepay.insurance.personal_account_fen, prepay.insurance.self_pay_fen) == (3520, 1480)
        payment = (await insurance.parse_notification({}, delivered[0].content)).payment
        assert payment is not None
        assert (payment.state, payment.amount_fen, payment.raw["ownPayAmt"]) == ("paid", 5000, "14.80")

    async def test_a_failed_settlement(self, session, run_jobs, delivered):
        insurance = channel(session)
        await insurance.create_prepay(request())

        await simulate_payment(session, "IH20261127000001", outcome="failed")
        await run_jobs()

        payment = (await insurance.parse_notification({}, delivered[0].content)).payment
        assert payment is not None
        assert (payment.state, payment.amount_fen, payment.transaction_id) == ("failed", None, None)
        assert (await insurance.query_payment("IH20261127000001")).state == "failed"

    async def test_duplicated_notifications_share_their_id(self, session, run_jobs, delivered):
        insurance = channel(session, notification_copies=3)
        await insurance.create_prepay(request())
        await simulate_payment(
            session, "IH20261127000001", settings=InsuranceSandboxSettings(notification_copies=3)
        )
        await run_jobs()

        ids = {(await insurance.parse_notification({}, r.content)).notification_id for r in delivered}
        assert len(delivered) == 3
        assert len(ids) == 1

    async def test_a_delayed_notification(self, session, run_jobs, delivered):
        control.notification_delay_seconds = 120
        await channel(session).create_prepay(request())
        await simulate_payment(session, "IH20261127000001")

        await run_jobs()
        assert delivered == []

        clock.travel(timedelta(minutes=3))
        await run_jobs()
        assert len(delivered) == 1

    async def test_paying_twice_or_an_unknown_order_is_refused(self, session):
        await channel(session).create_prepay(request())
        await simulate_payment(session, "IH20261127000001")

        with pytest.raises(InsuranceSandboxError, match="not waiting"):
            await simulate_payment(session, "IH20261127000001")
        with pytest.raises(InsuranceSandboxError, match="no insurance order"):
            await simulate_payment(session, "IH404")

    async def test_an_order_left_too_long_expires(self, session):
        insurance = channel(session)
        await insurance.create_prepay(request(expires_in=timedelta(minutes=5)))
        clock.travel(timedelta(minutes=6))

        with pytest.raises(InsuranceSandboxError, match="expired"):
            await simulate_payment(session, "IH20261127000001")
        assert (await insurance.query_payment("IH20261127000001")).state == "closed"

    async def test_an_unknown_order(self, session):
        with pytest.raises(ChannelError, match="order_not_found"):
            await channel(session).query_payment("IH404")


class TestNotification:
    async def test_a_tampered_notification_is_rejected(self, session, run_jobs, delivered):
        insurance = channel(session)
        await insurance.create_prepay(request())
        await simulate_payment(session, "IH20261127000001")
        await run_jobs()
        message = json.loads(delivered[0].content)

        for field, value in (("timestamp", "20200101000000"), ("appId", "IHOSSANDBOXINSURANCE000000000002")):
            with pytest.raises(NotificationRejected):
                await insurance.parse_notification({}, json.dumps({**message, field: value}).encode())
        forged = envelope.seal(
            Party(
                app_id=platform_party().app_id,
                app_secret=platform_party().app_secret,
                signing_key=SM2PrivateKey.generate(),
                peer_key=platform_party().peer_key,
            ),
            {
                "callType": "SETL",
                "payOrdId": "PO1",
                "medOrgOrd": "IH20261127000001",
                "ordStas": "6",
                "feeSumamt": "1.00",
            },
            timestamp=envelope.timestamp_of(now()),
        )
        with pytest.raises(NotificationRejected, match="signature"):
            await insurance.parse_notification({}, json.dumps(forged).encode())
        for garbage in (b"not json", b"[]", json.dumps({**message, "signData": ""}).encode()):
            with pytest.raises(NotificationRejected):
                await insurance.parse_notification({}, garbage)

    async def test_a_notification_of_an_unknown_kind(self, session):
        sealed = envelope.seal(
            platform_party(),
            {"callType": "WHAT", "payOrdId": "PO1", "medOrgOrd": "IH1"},
            timestamp=envelope.timestamp_of(now()),
        )
        with pytest.raises(NotificationRejected, match="callType"):
            await channel(session).parse_notification({}, json.dumps(sealed).encode())

    def test_acknowledgements(self, session):
        insurance = channel(session)
        yes, no = insurance.acknowledge(accepted=True), insurance.acknowledge(accepted=False)

        assert (yes.status, json.loads(yes.body)) == (200, {"code": 0, "message": "成功"})
        assert no.status >= 300


class TestClose:
    async def test_it_works(self, session):
        insurance = channel(session)
        await insurance.create_prepay(request())

        await insurance.close("IH20261127000001")
        await insurance.close("IH20261127000001")  # closing again is harmless

        assert (await insurance.query_payment("IH20261127000001")).state == "closed"
        with pytest.raises(InsuranceSandboxError):
            await simulate_payment(session, "IH20261127000001")

    async def test_a_settled_order_cannot_be_closed(self, session):
        insurance, _ = await paid_order(session)

        with pytest.raises(ChannelError) as refused:
            await insurance.close("IH20261127000001")

        assert refused.value.code == "order_state"


class TestRefund:
    async def test_it_works(self, session, run_jobs, delivered):
        insurance, prepay = await paid_order(session)
        await run_jobs()

        result = await insurance.refund(refund(10000))

        assert (result.refund_number, result.state, result.amount_fen) == (
            "RF20261127000001",
            "succeeded",
            10000,
        )
        assert result.channel_refund_id and result.succeeded_at is not None
        assert result.raw["refdType"] == "ALL"
        assert (result.raw["fundRefdAmt"], result.raw["psnAcctRefdAmt"], result.raw["cashRefdAmt"]) == (
            "57.00",
            "43.00",
            "0.00",
        )
        assert (await insurance.query_payment("IH20261127000001")).state == "refunded"
        queried = await insurance.query_refund("RF20261127000001", order_number="IH20261127000001")
        assert (queried.state, queried.amount_fen, queried.channel_refund_id) == (
            "succeeded",
            10000,
            result.channel_refund_id,
        )
        await run_jobs()
        notification = await insurance.parse_notification({}, delivered[-1].content)
        assert notification.kind == "refund" and notification.refund is not None
        assert notification.refund.refund_number == "RF20261127000001"
        assert notification.notification_id == f"{prepay.channel_reference}:REFD:RF20261127000001"

    async def test_the_same_refund_number_refunds_once(self, session):
        insurance, _ = await paid_order(session)

        first = await insurance.refund(refund(10000))
        second = await insurance.refund(refund(10000))

        assert first.channel_refund_id == second.channel_refund_id
        order = await session.scalar(select(SandboxInsuranceOrder))
        assert (order.fund_refunded_fen, order.account_refunded_fen) == (5700, 4300)

    async def test_the_cash_part_may_be_refunded_in_parts(self, session):
        insurance, _ = await paid_order(
            session, who=("王芳", "310104199007210145"), lines=(CONSULTATION, DRUG)
        )
        # 王芳: 100.00 = 35.20 account + 64.80 cash (deductible not met).

        first = await insurance.refund(refund(2000))
        second = await insurance.refund(refund(4480, number="RF20261127000002"))

        assert (first.raw["refdType"], second.raw["refdType"]) == ("CASH", "CASH")
        assert (await insurance.query_payment("IH20261127000001")).raw["ordStas"] == "9"
        with pytest.raises(ChannelError) as refused:
            await insurance.refund(refund(100, number="RF20261127000003"))
        assert refused.value.code == "partial_insurance_refund"

    async def test_the_insurance_part_goes_back_only_whole(self, session):
        insurance, _ = await paid_order(session)

        with pytest.raises(ChannelError) as refused:
            await insurance.refund(refund(5000))

        assert refused.value.code == "partial_insurance_refund"
        assert refused.value.retryable is False

    async def test_a_refund_gives_the_year_allowance_back(self, session):
        insurance = channel(session)
        await insurance.create_prepay(request(lines=(CONSULTATION,) * 4))  # 200.00: the whole deductible
        await simulate_payment(session, "IH20261127000001")
        await insurance.refund(refund(20000))

        again = await insurance.create_prepay(request("IH20261127000002"))

        assert again.insurance is not None
        assert again.insurance.fields["act_pay_dedc"] == "50.00"

    async def test_an_unpaid_order_cannot_be_refunded(self, session):
        insurance = channel(session)
        await insurance.create_prepay(request())

        with pytest.raises(ChannelError, match="order_not_paid"):
            await insurance.refund(refund(5000))

    async def test_a_refund_the_platform_never_saw(self, session):
        insurance, _ = await paid_order(session)

        with pytest.raises(ChannelError) as refused:
            await insurance.query_refund("RF404", order_number="IH20261127000001")

        assert refused.value.code == "refund_not_found"

    async def test_a_lost_answer_leaves_the_refund_done(self, session):
        insurance, _ = await paid_order(session)

        with control.failing("lost_answer"), pytest.raises(ChannelError) as lost:
            await insurance.refund(refund(10000))

        assert (lost.value.code, lost.value.retryable) == ("timeout", True)
        queried = await insurance.query_refund("RF20261127000001", order_number="IH20261127000001")
        assert queried.state == "succeeded"
        assert (await insurance.refund(refund(10000))).state == "succeeded"  # the retry is harmless


class TestReferences:
    async def test_later_calls_name_the_order_by_pay_order_id_and_token(self, session):
        references: dict[str, PayOrderReference] = {}

        async def lookup(order_number: str) -> PayOrderReference | None:
            return references.get(order_number)

        insurance = channel(session, references=lookup)
        prepay = await insurance.create_prepay(request())
        assert prepay.insurance is not None and prepay.channel_reference is not None
        references["IH20261127000001"] = PayOrderReference(
            pay_order_id=prepay.channel_reference,
            pay_token=prepay.insurance.fields["payToken"],
            insured_name=ZHANG_WEI[0],
            insured_id_number=ZHANG_WEI[1],
        )

        assert (await insurance.query_payment("IH20261127000001")).state == "pending"

        references["IH20261127000001"] = PayOrderReference(
            pay_order_id=prepay.channel_reference, pay_token="forged"
        )
        with pytest.raises(ChannelError, match="order_not_found"):
            await insurance.query_payment("IH20261127000001")


class TestStatement:
    async def test_it_works(self, session):
        insurance, prepay = await paid_order(session)
        await insurance.refund(refund(10000))

        content = (await insurance.download_statement(local_today())).decode()

        lines = content.strip().splitlines()
        assert lines[0].startswith("kind,medOrgOrd,payOrdId,setl_id")
        assert lines[1].startswith(f"settlement,IH20261127000001,{prepay.channel_reference}")
        assert lines[1].endswith(",100.00,57.00,43.00,0.00")
        assert lines[2].startswith("refund,IH20261127000001")
        assert lines[2].endswith(",-100.00,-57.00,-43.00,0.00")
        assert (await insurance.download_statement(date(2020, 1, 1))).decode().count("\n") == 1

    async def test_live_centres_offer_none(self, session):
        config = sandbox_config()
        insurance = InsuranceChannel(
            InsuranceClient(
                type(config)(config.endpoint, config.party, config.org_code, config.org_name),
                timeout=1,
                transport=InsuranceSandbox(session, settings=InsuranceSandboxSettings()).transport(),
            )
        )

        with pytest.raises(ChannelError, match="statement_not_offered"):
            await insurance.download_statement(local_today())


class TestSignatures:
    def client(self, session, party: Party | None = None, wrap=None) -> InsuranceChannel:  # type: ignore[no-untyped-def]
        base = sandbox_config()
        transport = InsuranceSandbox(session, settings=InsuranceSandboxSettings()).transport()
        if wrap is not None:
            inner = transport

            async def handler(req: httpx.Request) -> httpx.Response:
                return wrap(await inner.handle_async_request(req))

            transport = httpx.MockTransport(handler)
        config = type(base)(base.endpoint, party or base.party, base.org_code, base.org_name)
        return InsuranceChannel(InsuranceClient(config, timeout=1, transport=transport))

    async def test_a_request_signed_with_another_key_is_refused(self, session):
        stranger = Party(
            app_id=hospital_party().app_id,
            app_secret=hospital_party().app_secret,
            signing_key=SM2PrivateKey.generate(),
            peer_key=hospital_party().peer_key,
        )

        with pytest.raises(ChannelError) as refused:
            await self.client(session, stranger).create_prepay(request())

        assert (refused.value.code, refused.value.retryable) == ("invalid_signature", False)
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None

    async def test_a_wrong_secret_cannot_even_be_decrypted(self, session):
        wrong = Party(
            app_id=hospital_party().app_id,
            app_secret="another-secret",
            signing_key=hospital_party().signing_key,
            peer_key=hospital_party().peer_key,
        )

        with pytest.raises(ChannelError) as refused:
            await self.client(session, wrong).create_prepay(request())

        assert refused.value.code in ("undecryptable", "invalid_signature")

    async def test_an_unknown_app(self, session):
        stranger = Party(
            app_id="IHOSSANDBOXINSURANCE000000000009",
            app_secret=hospital_party().app_secret,
            signing_key=hospital_party().signing_key,
            peer_key=hospital_party().peer_key,
        )

        with pytest.raises(ChannelError, match="unknown_app"):
            await self.client(session, stranger).create_prepay(request())

    async def test_a_stale_request_is_refused(self, session):
        sealed = envelope.seal(
            hospital_party(),
            {"orgCodg": sandbox.SANDBOX_ORG_CODE},
            timestamp=envelope.timestamp_of(now() - timedelta(minutes=6)),
        )
        platform = InsuranceSandbox(session, settings=InsuranceSandboxSettings())

        response = await platform.handle(
            httpx.Request("POST", sandbox.SANDBOX_ENDPOINT + envelope.PATHS["6301"], json=sealed)
        )

        assert response.json()["code"] == 1003

    async def test_a_tampered_answer_is_refused(self, session):
        def tamper(response: httpx.Response) -> httpx.Response:
            body = json.loads(response.read())
            body["timestamp"] = "20200101000000"
            return httpx.Response(response.status_code, json=body)

        with pytest.raises(ChannelError) as refused:
            await self.client(session, wrap=tamper).create_prepay(request())

        assert (refused.value.code, refused.value.retryable) == ("invalid_response_signature", False)

    async def test_an_unsigned_refusal_is_only_believed_as_a_failure_to_try_again(self, session):
        def strip(response: httpx.Response) -> httpx.Response:
            body = json.loads(response.read())
            if body.get("code") != 0:
                body.pop("signData", None)
            return httpx.Response(response.status_code, json=body)

        with pytest.raises(ChannelError) as refused:
            await self.client(session, wrap=strip).create_prepay(request(who=CHEN_JING))

        assert (refused.value.code, refused.value.retryable) == ("not_insured", True)


class TestFailureSwitches:
    async def test_unavailable(self, session):
        with control.failing("unavailable"), pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request())

        assert (refused.value.code, refused.value.retryable) == ("busy", True)

    async def test_unavailable_by_setting(self, session):
        with pytest.raises(ChannelError, match="busy"):
            await channel(session, failure_mode="unavailable").query_payment("IH1")

    async def test_timeout(self, session):
        with control.failing("timeout"), pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request())

        assert (refused.value.code, refused.value.retryable) == ("timeout", True)
        assert await session.scalar(select(SandboxInsuranceOrder.id)) is None

    async def test_a_lost_answer_leaves_the_order_placed(self, session):
        insurance = channel(session)
        with control.failing("lost_answer"), pytest.raises(ChannelError, match="timeout"):
            await insurance.create_prepay(request())

        assert (await session.scalar(select(SandboxInsuranceOrder))).state == "saved"
        again = await insurance.create_prepay(request())  # the retry finds the same order
        assert again.insurance is not None

    @pytest.mark.parametrize(("who", "code"), [(QIAN_DUODUO, "timeout"), (FENG_YIMING, "busy")])
    async def test_the_people_for_whom_the_platform_always_fails(self, session, who, code):
        with pytest.raises(ChannelError) as refused:
            await channel(session).create_prepay(request(who=who))

        assert (refused.value.code, refused.value.retryable) == (code, True)


class TestSettings:
    def test_live_needs_its_credentials(self):
        with pytest.raises(ValueError, match=r"APP_SECRET.*PRIVATE_KEY.*PLATFORM_PUBLIC_KEY"):
            live_config(
                InsuranceSettings(
                    provider="live", endpoint="https://fsi.example.cn", app_id="A" * 32, org_code="H1"
                )
            )

    def test_a_live_configuration(self, session):
        hospital, platform = SM2PrivateKey.generate(), SM2PrivateKey.generate()
        settings = InsuranceSettings(
            provider="live",
            endpoint="https://fsi.example.cn/",
            app_id="1G2H3J4K5L6M7N8P9Q0R",
            app_secret="s3cr3t-value",  # type: ignore[arg-type]
            private_key=hospital.to_hex(),  # type: ignore[arg-type]
            platform_public_key=platform.public_key().to_hex(),
            org_code="H51010700099",
        )

        config = live_config(settings)

        assert config.party.peer_key == platform.public_key()
        assert config.party.signing_key.public_key() == hospital.public_key()
        assert "s3cr3t-value" not in repr(settings) and hospital.to_hex() not in repr(config)
        assert insurance_channel(session, settings).org_code == "H51010700099"
