"""The HIS payment interface against the sandbox HIS: write-backs idempotent by order number, refunds,
charge status, the clinic bills' lifecycle, signatures both ways and the failure switches."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text

from ihos.integrations.his import (
    ChargeWriteBack,
    ClinicBillLine,
    HisError,
    HisSandboxSettings,
    HisSettings,
    RefundWriteBack,
    cancel_clinic_bill,
    create_clinic_bill,
    his_payments,
    mapping,
    wire,
)
from ihos.integrations.his.client import HisConfig, HttpHisPayments
from ihos.integrations.his.sandbox import SANDBOX_ENDPOINT, HisSandbox, control, sandbox_config
from ihos.kit.time import now
from ihos.models.sandbox_hospital import SandboxHisCharge, SandboxHisClinicBill

ZHANG_WEI = ("张伟", "110105198503120135")
WANG_FANG = ("王芳", "310104199007210145")
BLOOD_TEST = ClinicBillLine(code="JY0001", name="血常规", quantity=1, unit_price_fen=2500, amount_fen=2500)
X_RAY = ClinicBillLine(code="JC0102", name="胸部正位片", quantity=1, unit_price_fen=8000, amount_fen=8000)
DRUG = ClinicBillLine(code="XY0203", name="阿莫西林胶囊", quantity=2, unit_price_fen=1250, amount_fen=2500)


def his(session, **sandbox_settings):  # type: ignore[no-untyped-def]
    return his_payments(session, HisSettings(sandbox=HisSandboxSettings(**sandbox_settings)))


def charge(
    order_number: str = "IH20261127000001",
    amount_fen: int = 1000,
    who: tuple[str, str] = ZHANG_WEI,
    kind: str = "registration",
    reference: str = "BK0001",
    transaction_id: str = "4200000001202611270000000001",
) -> ChargeWriteBack:
    return ChargeWriteBack(
        order_number=order_number,
        patient_id_number=who[1],
        patient_name=who[0],
        business_kind=kind,
        business_reference=reference,
        channel="wechat",
        transaction_id=transaction_id,
        amount_fen=amount_fen,
        paid_at=now() - timedelta(seconds=5),
    )


def refund(
    amount_fen: int, number: str = "RF20261127000001", order_number: str = "IH20261127000001"
) -> RefundWriteBack:
    return RefundWriteBack(
        refund_number=number, order_number=order_number, amount_fen=amount_fen, refunded_at=now()
    )


async def bill(session, who=ZHANG_WEI, lines=(BLOOD_TEST, X_RAY)):  # type: ignore[no-untyped-def]
    return await create_clinic_bill(session, who[1], lines, department="呼吸内科", doctor="李建华")


class TestWriteBackCharge:
    async def test_it_works(self, session):
        receipt = await his(session).write_back_charge(charge())

        assert receipt.his_receipt_number.startswith("FP")
        assert abs(receipt.recorded_at - now()) < timedelta(seconds=5)
        assert await his(session).charge_status("IH20261127000001") == receipt

    async def test_a_second_write_back_of_the_same_order_returns_the_first_receipt(self, session):
        first = await his(session).write_back_charge(charge())
        second = await his(session).write_back_charge(charge())

        assert first == second
        assert len((await session.scalars(select(SandboxHisCharge))).all()) == 1

    async def test_the_same_order_number_with_another_payment_is_a_conflict(self, session):
        await his(session).write_back_charge(charge())

        with pytest.raises(HisError) as refused:
            await his(session).write_back_charge(charge(amount_fen=2000))

        assert (refused.value.code, refused.value.retryable) == ("order_conflict", False)

    async def test_the_status_of_an_order_the_his_never_saw(self, session):
        assert await his(session).charge_status("IH404") is None

    async def test_a_malformed_write_back(self, session):
        with pytest.raises(HisError) as refused:
            await his(session).write_back_charge(charge(who=("某人", "110105198503120136")))

        assert (refused.value.code, refused.value.retryable) == ("invalid_request", False)

    async def test_id_numbers_and_names_are_kept_encrypted(self, session):
        await bill(session)
        await his(session).write_back_charge(charge())

        for table in ("sandbox_his_charges", "sandbox_his_clinic_bills"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608 - fixed names
            assert rows
            assert ZHANG_WEI[1] not in repr(rows)
            assert ZHANG_WEI[0] not in repr(rows)


class TestClinicBills:
    async def test_it_works(self, session):
        created = await bill(session)

        bills = await his(session).clinic_bills(ZHANG_WEI[1])

        assert bills == (created,)
        assert (created.state, created.total_fen, created.department, created.doctor) == (
            "unpaid",
            10500,
            "呼吸内科",
            "李建华",
        )
        assert created.lines == (BLOOD_TEST, X_RAY)
        assert created.patient_id_number == ZHANG_WEI[1]
        assert await his(session).clinic_bills(WANG_FANG[1]) == ()

    async def test_paying_a_bill_marks_it_paid(self, session):
        created = await bill(session)

        await his(session).write_back_charge(
            charge(amount_fen=10500, kind="clinic_bill", reference=created.his_bill_id)
        )

        (listed,) = await his(session).clinic_bills(ZHANG_WEI[1])
        assert listed.state == "paid"
        row = await session.scalar(select(SandboxHisClinicBill))
        assert (row.paid_order_number, row.paid_at is not None) == ("IH20261127000001", True)

    async def test_a_discounted_payment_pays_the_bill(self, session):
        # The intranet's discount (a patient over 65, say) is the hospital's own: the HIS applies it.
        created = await bill(session)

        await his(session).write_back_charge(
            charge(amount_fen=9500, kind="clinic_bill", reference=created.his_bill_id)
        )

        assert (await his(session).clinic_bills(ZHANG_WEI[1]))[0].state == "paid"

    async def test_a_bill_is_paid_once(self, session):
        created = await bill(session)
        payments = his(session)
        await payments.write_back_charge(
            charge(amount_fen=10500, kind="clinic_bill", reference=created.his_bill_id)
        )

        with pytest.raises(HisError) as refused:
            await payments.write_back_charge(
                charge(
                    "IH20261127000002", amount_fen=10500, kind="clinic_bill", reference=created.his_bill_id
                )
            )

        assert (refused.value.code, refused.value.retryable) == ("bill_already_paid", False)
        assert await payments.charge_status("IH20261127000002") is None

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"amount_fen": 10501}, "amount_mismatch"),
            ({"who": WANG_FANG}, "bill_patient_mismatch"),
            ({"reference": "CB404"}, "unknown_bill"),
        ],
    )
    async def test_a_write_back_that_does_not_fit_the_bill(self, session, change, code):
        created = await bill(session)
        fields = {"amount_fen": 10500, "kind": "clinic_bill", "reference": created.his_bill_id, **change}

        with pytest.raises(HisError) as refused:
            await his(session).write_back_charge(charge(**fields))

        assert refused.value.code == code
        assert (await his(session).clinic_bills(ZHANG_WEI[1]))[0].state == "unpaid"

    async def test_a_cancelled_bill(self, session):
        created = await bill(session)

        assert await cancel_clinic_bill(session, created.his_bill_id) is True
        assert await cancel_clinic_bill(session, created.his_bill_id) is False

        assert await his(session).clinic_bills(ZHANG_WEI[1]) == ()
        with pytest.raises(HisError, match="bill_cancelled"):
            await his(session).write_back_charge(
                charge(amount_fen=10500, kind="clinic_bill", reference=created.his_bill_id)
            )

    async def test_a_fully_refunded_bill_is_cancelled(self, session):
        created = await bill(session)
        payments = his(session)
        await payments.write_back_charge(
            charge(amount_fen=10500, kind="clinic_bill", reference=created.his_bill_id)
        )

        await payments.write_back_refund(refund(500))
        assert (await payments.clinic_bills(ZHANG_WEI[1]))[0].state == "paid"
        await payments.write_back_refund(refund(10000, number="RF20261127000002"))

        assert await payments.clinic_bills(ZHANG_WEI[1]) == ()
        assert (await session.scalar(select(SandboxHisClinicBill))).state == "cancelled"

    async def test_newest_first(self, session):
        first = await bill(session)
        second = await bill(session, lines=(DRUG,))

        assert [b.his_bill_id for b in await his(session).clinic_bills(ZHANG_WEI[1])] == [
            second.his_bill_id,
            first.his_bill_id,
        ]

    @pytest.mark.parametrize(
        ("id_number", "lines"),
        [
            ("110105198503120136", (BLOOD_TEST,)),
            (ZHANG_WEI[1], ()),
            (
                ZHANG_WEI[1],
                (ClinicBillLine(code="JY1", name="x", quantity=2, unit_price_fen=100, amount_fen=100),),
            ),
        ],
        ids=["bad id number", "no lines", "amount not quantity × price"],
    )
    async def test_a_bill_that_cannot_be(self, session, id_number, lines):
        with pytest.raises(ValueError):
            await create_clinic_bill(session, id_number, lines, department="内科", doctor="王丽")


class TestWriteBackRefund:
    async def test_it_works(self, session):
        payments = his(session)
        await payments.write_back_charge(charge())

        receipt = await payments.write_back_refund(refund(400))
        again = await payments.write_back_refund(refund(400))

        assert receipt.his_receipt_number.startswith("TF")
        assert again == receipt
        assert (await session.scalar(select(SandboxHisCharge))).refunded_fen == 400

    async def test_never_more_than_was_charged(self, session):
        payments = his(session)
        await payments.write_back_charge(charge())
        await payments.write_back_refund(refund(600))

        with pytest.raises(HisError) as refused:
            await payments.write_back_refund(refund(500, number="RF20261127000002"))

        assert (refused.value.code, refused.value.retryable) == ("refund_exceeds_charge", False)

    async def test_a_refund_number_reused_for_another_amount(self, session):
        payments = his(session)
        await payments.write_back_charge(charge())
        await payments.write_back_refund(refund(600))

        with pytest.raises(HisError, match="refund_conflict"):
            await payments.write_back_refund(refund(300))

    async def test_a_refund_of_an_order_the_his_never_saw(self, session):
        with pytest.raises(HisError, match="unknown_order"):
            await his(session).write_back_refund(refund(100))


class TestFailureSwitches:
    async def test_unavailable(self, session):
        with control.failing("unavailable"), pytest.raises(HisError) as refused:
            await his(session).clinic_bills(ZHANG_WEI[1])

        assert (refused.value.code, refused.value.retryable) == ("unavailable", True)

    async def test_timeout_records_nothing(self, session):
        with control.failing("timeout"), pytest.raises(HisError) as refused:
            await his(session).write_back_charge(charge())

        assert (refused.value.code, refused.value.retryable) == ("timeout", True)
        assert await his(session).charge_status("IH20261127000001") is None

    async def test_write_backs_fail_a_number_of_times_then_succeed(self, session):
        control.fail_next_write_backs(2)
        payments = his(session)

        for _ in range(2):
            with pytest.raises(HisError) as refused:
                await payments.write_back_charge(charge())
            assert (refused.value.code, refused.value.retryable) == ("busy", True)

        assert await payments.write_back_charge(charge())
        assert await payments.clinic_bills(ZHANG_WEI[1]) == ()  # queries are not held back

    async def test_failing_write_backs_from_the_settings(self, session):
        control.reset()
        payments = his(session, failing_write_backs=1)

        with pytest.raises(HisError, match="busy"):
            await payments.write_back_charge(charge())
        assert await payments.write_back_charge(charge())

    async def test_a_lost_answer_written_to_the_his_but_not_heard(self, session):
        payments = his(session)
        with control.failing("lost_answer"), pytest.raises(HisError) as lost:
            await payments.write_back_charge(charge())
        assert (lost.value.code, lost.value.retryable) == ("timeout", True)

        recorded = await payments.charge_status("IH20261127000001")

        assert recorded is not None
        assert await payments.write_back_charge(charge()) == recorded  # the retry gets the same receipt

    async def test_a_lost_answer_on_a_paid_bill(self, session):
        created = await bill(session)
        payments = his(session, failure_mode="lost_answer")

        with pytest.raises(HisError, match="timeout"):
            await payments.write_back_charge(
                charge(amount_fen=10500, kind="clinic_bill", reference=created.his_bill_id)
            )

        assert (await payments.clinic_bills(ZHANG_WEI[1]))[0].state == "paid"


class TestSignatures:
    def payments(self, session, *, on_request=None, on_response=None, config: HisConfig | None = None):  # type: ignore[no-untyped-def]
        sandbox = HisSandbox(session, settings=HisSandboxSettings())

        async def handler(request: httpx.Request) -> httpx.Response:
            if on_request is not None:
                request = on_request(request)
            response = await sandbox.handle(request)
            return on_response(response) if on_response is not None else response

        return HttpHisPayments(config or sandbox_config(), timeout=1, transport=httpx.MockTransport(handler))

    async def test_a_tampered_request_is_refused(self, session):
        def tamper(request: httpx.Request) -> httpx.Request:
            body = json.loads(request.content)
            body["payment"]["amount_fen"] = 1
            return httpx.Request(request.method, request.url, headers=request.headers, json=body)

        with pytest.raises(HisError) as refused:
            await self.payments(session, on_request=tamper).write_back_charge(charge())

        assert (refused.value.code, refused.value.retryable) == ("invalid_signature", False)
        assert await his(session).charge_status("IH20261127000001") is None

    async def test_a_tampered_answer_is_refused(self, session):
        def tamper(response: httpx.Response) -> httpx.Response:
            body = json.loads(response.read())
            body["receipt_number"] = "FP0000"
            return httpx.Response(response.status_code, headers=response.headers, json=body)

        with pytest.raises(HisError) as refused:
            await self.payments(session, on_response=tamper).write_back_charge(charge())

        assert (refused.value.code, refused.value.retryable) == ("invalid_response_signature", False)

    async def test_an_answer_to_another_request_is_refused(self, session):
        # Signatures bind the request's nonce: a genuine old answer does not answer a new question.
        kept: list[httpx.Response] = []

        def replay(response: httpx.Response) -> httpx.Response:
            kept.append(response)
            return kept[0]

        payments = self.payments(session, on_response=replay)
        await payments.charge_status("IH1")
        with pytest.raises(HisError, match="invalid_response_signature"):
            await payments.charge_status("IH2")

    async def test_an_unknown_app_and_a_wrong_secret(self, session):
        base = sandbox_config()
        for config in (
            HisConfig(base.endpoint, "stranger", base.secret),
            HisConfig(base.endpoint, base.app_id, "wrong"),
        ):
            with pytest.raises(HisError) as refused:
                await self.payments(session, config=config).charge_status("IH1")
            assert refused.value.retryable is False

    async def test_a_stale_request_is_refused(self, session):
        body = json.dumps(mapping.status_request("IH1")).encode()
        timestamp = str(int((now() - timedelta(minutes=6)).timestamp()))
        path = "/ihos/v1/charges/status"
        headers = {
            wire.APP_ID: "ihos-sandbox",
            wire.TIMESTAMP: timestamp,
            wire.NONCE: "0" * 32,
            wire.SIGNATURE: wire.request_signature(
                sandbox_config().secret, path=path, timestamp=timestamp, nonce="0" * 32, body=body
            ),
        }

        response = await HisSandbox(session, settings=HisSandboxSettings()).handle(
            httpx.Request("POST", SANDBOX_ENDPOINT + "/charges/status", headers=headers, content=body)
        )

        assert (response.status_code, response.json()["error"]) == (401, "stale_timestamp")


class TestSettings:
    def test_live_needs_its_credentials(self, session):
        with pytest.raises(ValueError, match=r"ENDPOINT.*SECRET"):
            his_payments(session, HisSettings(provider="live", app_id="ihos"))

    def test_a_live_configuration(self, session):
        settings = HisSettings(
            provider="live", endpoint="https://his.example/ihos/v1", app_id="ihos", secret="s3cr3t"
        )  # type: ignore[arg-type]

        payments = his_payments(session, settings)

        assert isinstance(payments, HttpHisPayments)
        assert payments.config.endpoint == "https://his.example/ihos/v1"
        assert "s3cr3t" not in repr(settings) and "s3cr3t" not in repr(payments.config)


def test_the_settings_load_without_the_database_models():
    # ``ihos.integrations.settings`` (imported by ``ihos.config``) may import these three settings
    # classes: they must not pull in the models, which need the configuration themselves.
    code = (
        "import sys\n"
        "from ihos.integrations.his.settings import HisSettings\n"
        "from ihos.integrations.pricing.settings import PricingSettings\n"
        "from ihos.integrations.payment.insurance.settings import InsuranceSettings\n"
        "import ihos.integrations.his, ihos.integrations.pricing, ihos.integrations.payment.insurance\n"
        "heavy = [m for m in sys.modules if m.split('.')[:2] in (['ihos', 'models'], ['ihos', 'config'])]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # noqa: S603
