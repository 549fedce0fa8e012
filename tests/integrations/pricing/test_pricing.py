"""The intranet pricing service (SY-01) against the sandbox intranet: the 65+ and service-member
discounts, the insured estimate, signatures both ways, and the proof that the reason for a discount
never leaves the intranet (not in the quote, not on the wire, not in a log line)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import httpx
import pytest

from ihos.integrations.pricing import (
    PricedItem,
    PricingError,
    PricingSandboxSettings,
    PricingSettings,
    Quote,
    pricing_service,
    wire,
)
from ihos.integrations.pricing.client import HttpPricingService, PricingConfig
from ihos.integrations.pricing.sandbox import PricingSandbox, control, item_kind, sandbox_config

ZHANG_WEI = ("张伟", "110105198503120135")  # 41, insured
CHEN_JING = ("陈静", "330106199501150201")  # 31, not insured
ZHOU_XIUYING = ("周秀英", "500103195006060289")  # 76
WU_JIANGUO = ("吴建国", "370102194810010316")  # 78
LIU_YANG = ("刘洋", "510107197905300190")  # 47, a serviceman on the intranet's registry
ZHAO_MIN = ("赵敏", "320102197212250242")  # 53, a serviceman's family on the intranet's registry
REGISTRATION = PricedItem(code="GH0001", name="普通门诊挂号", quantity=1, unit_price_fen=1000)
CONSULTATION = PricedItem(code="ZC0001", name="普通门诊诊查费", quantity=1, unit_price_fen=2000)
X_RAY = PricedItem(code="JC0102", name="胸部正位片", quantity=1, unit_price_fen=8000)
DRUG = PricedItem(code="XY0203", name="阿莫西林胶囊", quantity=2, unit_price_fen=1250)
BILL = (REGISTRATION, CONSULTATION, X_RAY, DRUG)  # 135.00
REASON_WORDS = ("军", "属", "serv", "milit", "senior", "elder", "age", "reason", "why", "老")


def service(**sandbox: object) -> HttpPricingService:
    return pricing_service(PricingSettings(sandbox=PricingSandboxSettings(**sandbox)))  # type: ignore[return-value]


async def quote(who: tuple[str, str], items=BILL, insured=False, **sandbox) -> Quote:  # type: ignore[no-untyped-def]
    return await service(**sandbox).quote(
        patient_name=who[0], patient_id_number=who[1], items=items, insured=insured
    )


class TestQuote:
    async def test_it_works(self):
        priced = await quote(CHEN_JING)

        assert (priced.total_fen, priced.discount_fen, priced.self_pay_fen) == (13500, 0, 13500)
        assert (priced.insurance_fund_fen, priced.personal_account_fen, priced.is_insured) == (0, 0, False)
        assert priced.quote_id.startswith("Q")

    @pytest.mark.parametrize("who", [ZHOU_XIUYING, WU_JIANGUO])
    async def test_patients_65_and_over_pay_less_for_registration_and_consultation(self, who):
        priced = await quote(who)

        assert (priced.total_fen, priced.discount_fen, priced.self_pay_fen) == (13500, 1500, 12000)

    @pytest.mark.parametrize("who", [LIU_YANG, ZHAO_MIN])
    async def test_service_members_and_families_get_their_discount(self, who):
        priced = await quote(who)

        # Registration and consultation free, 20 % off the examination, nothing off drugs.
        assert (priced.total_fen, priced.discount_fen, priced.self_pay_fen) == (13500, 4600, 8900)

    async def test_where_both_apply_the_larger_discount_wins(self):
        priced = await quote(LIU_YANG, senior_age=40)

        assert priced.discount_fen == 4600

    async def test_the_policy_is_the_hospital_s(self):
        priced = await quote(ZHOU_XIUYING, senior_discounts={"registration": 100, "drug": 10})

        assert priced.discount_fen == 1000 + 250

    async def test_an_insured_patient_gets_the_split(self):
        priced = await quote(ZHANG_WEI, insured=True)

        assert priced.is_insured is True
        # Within his deductible: the fund pays nothing yet, his account pays everything.
        assert (priced.insurance_fund_fen, priced.personal_account_fen, priced.self_pay_fen) == (0, 13500, 0)

    async def test_an_insured_service_member(self):
        priced = await quote(LIU_YANG, insured=True)

        assert priced.is_insured is True
        assert priced.discount_fen == 4600
        assert priced.insurance_fund_fen > 0
        parts = (
            priced.discount_fen
            + priced.insurance_fund_fen
            + priced.personal_account_fen
            + priced.self_pay_fen
        )
        assert parts == priced.total_fen == 13500

    async def test_not_insured_although_asked(self):
        priced = await quote(CHEN_JING, insured=True)

        assert (priced.is_insured, priced.self_pay_fen) == (False, 13500)

    async def test_an_invalid_id_number(self):
        with pytest.raises(PricingError) as refused:
            await quote(("某人", "110105198503120136"))

        assert (refused.value.code, refused.value.retryable) == ("invalid_id_number", False)

    async def test_no_items(self):
        with pytest.raises(PricingError, match="invalid_request"):
            await quote(CHEN_JING, items=())

    def test_item_kinds(self):
        assert [item_kind(item.code) for item in BILL] == [
            "registration",
            "consultation",
            "examination",
            "drug",
        ]
        assert item_kind("001101000010000") == "consultation"
        assert item_kind("ANYTHING") == "other"


class TestTheReasonStaysInside:
    """SY-01: the internet side gets only total, discount and self-pay (and the insured split)."""

    def recording(self, answers: list[dict], **sandbox: object) -> HttpPricingService:  # type: ignore[type-arg]
        intranet = PricingSandbox(settings=PricingSandboxSettings(**sandbox))  # type: ignore[arg-type]

        async def handler(request: httpx.Request) -> httpx.Response:
            response = await intranet.handle(request)
            answers.append(json.loads(response.read()))
            return response

        return HttpPricingService(intranet.config, timeout=1, transport=httpx.MockTransport(handler))

    def test_a_quote_has_no_field_for_a_reason(self):
        assert {f.name for f in dataclasses.fields(Quote)} == {
            "total_fen",
            "discount_fen",
            "self_pay_fen",
            "insurance_fund_fen",
            "personal_account_fen",
            "is_insured",
            "quote_id",
        }

    async def test_the_answer_on_the_wire_carries_amounts_only(self):
        answers: list[dict] = []  # type: ignore[type-arg]
        intranet = self.recording(answers)

        for who in (LIU_YANG, ZHAO_MIN, ZHOU_XIUYING, CHEN_JING):
            for insured in (False, True):
                await intranet.quote(
                    patient_name=who[0], patient_id_number=who[1], items=BILL, insured=insured
                )

        for answer in answers:
            # Exactly the amount fields; the only text is the intranet's quote reference.
            assert set(answer) == set(wire.QUOTE_FIELDS)
            texts = [v for k, v in answer.items() if isinstance(v, str) and k != "request_id"]
            assert len(texts) == 1 and texts[0] == answer["quote_id"]
            for word in REASON_WORDS:
                assert word not in texts[0].lower()
            assert all(isinstance(answer[k], int) for k in wire.QUOTE_FIELDS if k.endswith("_fen"))

    async def test_a_service_member_and_a_senior_look_the_same(self):
        # With the same discount for both, nothing in the two answers tells them apart.
        same_policy = {"registration": 50, "consultation": 50}
        answers: list[dict] = []  # type: ignore[type-arg]
        intranet = self.recording(answers, senior_discounts=same_policy, service_member_discounts=same_policy)

        serviceman = await intranet.quote(
            patient_name=LIU_YANG[0], patient_id_number=LIU_YANG[1], items=BILL, insured=False
        )
        senior = await intranet.quote(
            patient_name=ZHOU_XIUYING[0], patient_id_number=ZHOU_XIUYING[1], items=BILL, insured=False
        )

        assert dataclasses.replace(serviceman, quote_id="") == dataclasses.replace(senior, quote_id="")
        ignore = ("request_id", "quote_id")
        assert {k: v for k, v in answers[0].items() if k not in ignore} == {
            k: v for k, v in answers[1].items() if k not in ignore
        }

    async def test_nothing_is_logged(self, caplog):
        caplog.set_level(logging.DEBUG)

        await quote(LIU_YANG, insured=True)
        await quote(ZHOU_XIUYING)
        with pytest.raises(PricingError):
            await quote(("某人", "110105198503120136"))

        ours = [r for r in caplog.records if r.name.startswith("ihos")]
        assert ours == []
        everything = "\n".join(r.getMessage() for r in caplog.records)
        for secret in (*LIU_YANG, *ZHOU_XIUYING, "service", "军"):
            assert secret not in everything

    async def test_a_reason_sent_by_mistake_is_dropped_unread(self, caplog):
        caplog.set_level(logging.DEBUG)
        intranet = PricingSandbox(settings=PricingSandboxSettings())

        async def chatty(request: httpx.Request) -> httpx.Response:
            response = await intranet.handle(request)
            body = {**json.loads(response.read()), "reason": "现役军人", "discount_kind": "military"}
            content = json.dumps(body, ensure_ascii=False).encode()
            timestamp = response.headers[wire.TIMESTAMP]
            signature = wire.response_signature(
                intranet.config.secret,
                status=200,
                nonce=request.headers[wire.NONCE],
                timestamp=timestamp,
                body=content,
            )
            return httpx.Response(
                200, content=content, headers={wire.TIMESTAMP: timestamp, wire.SIGNATURE: signature}
            )

        client = HttpPricingService(intranet.config, timeout=1, transport=httpx.MockTransport(chatty))
        priced = await client.quote(
            patient_name=LIU_YANG[0], patient_id_number=LIU_YANG[1], items=BILL, insured=False
        )

        assert priced.discount_fen == 4600
        assert "军" not in repr(priced) and "military" not in repr(priced)
        assert "军" not in caplog.text and "military" not in caplog.text

    def test_only_the_intranet_knows_who_serves(self):
        # The registry is read in one place, the sandbox intranet; nothing else in ihos mentions it.
        root = Path(__file__).resolve().parents[3] / "src" / "ihos"
        readers = sorted(
            str(path.relative_to(root))
            for path in root.rglob("*.py")
            if "service_members" in path.read_text(encoding="utf-8")
        )
        assert readers == ["integrations/pricing/sandbox.py"]


class TestSignatures:
    def client(self, *, on_request=None, on_response=None, config: PricingConfig | None = None):  # type: ignore[no-untyped-def]
        intranet = PricingSandbox(settings=PricingSandboxSettings())

        async def handler(request: httpx.Request) -> httpx.Response:
            if on_request is not None:
                request = on_request(request)
            response = await intranet.handle(request)
            return on_response(response) if on_response is not None else response

        return HttpPricingService(
            config or sandbox_config(), timeout=1, transport=httpx.MockTransport(handler)
        )

    async def ask(self, client: HttpPricingService, who=CHEN_JING) -> Quote:  # type: ignore[no-untyped-def]
        return await client.quote(patient_name=who[0], patient_id_number=who[1], items=BILL, insured=False)

    async def test_a_tampered_request_is_refused(self):
        def tamper(request: httpx.Request) -> httpx.Request:
            body = json.loads(request.content)
            body["patient"]["id_number"] = LIU_YANG[1]  # trying to borrow someone's discount
            return httpx.Request(request.method, request.url, headers=request.headers, json=body)

        with pytest.raises(PricingError) as refused:
            await self.ask(self.client(on_request=tamper))

        assert (refused.value.code, refused.value.retryable) == ("invalid_signature", False)

    async def test_a_tampered_answer_is_refused(self):
        def tamper(response: httpx.Response) -> httpx.Response:
            body = json.loads(response.read())
            body["discount_fen"], body["self_pay_fen"] = 13500, 0
            return httpx.Response(200, headers=response.headers, json=body)

        with pytest.raises(PricingError) as refused:
            await self.ask(self.client(on_response=tamper))

        assert (refused.value.code, refused.value.retryable) == ("invalid_response_signature", False)

    async def test_an_answer_that_does_not_add_up_is_not_charged(self):
        intranet = PricingSandbox(settings=PricingSandboxSettings())

        async def wrong(request: httpx.Request) -> httpx.Response:
            response = await intranet.handle(request)
            body = {**json.loads(response.read()), "self_pay_fen": 1}
            return intranet._reply(200, body, request.headers[wire.NONCE])

        client = HttpPricingService(intranet.config, timeout=1, transport=httpx.MockTransport(wrong))
        with pytest.raises(PricingError) as refused:
            await self.ask(client)

        assert (refused.value.code, refused.value.retryable) == ("bad_response", False)

    async def test_an_unknown_app_and_a_wrong_secret(self):
        base = sandbox_config()
        for config in (
            PricingConfig(base.endpoint, "stranger", base.secret),
            PricingConfig(base.endpoint, base.app_id, "x"),
        ):
            with pytest.raises(PricingError) as refused:
                await self.ask(self.client(config=config))
            assert refused.value.retryable is False


class TestFailureSwitches:
    async def test_unavailable(self):
        with control.failing("unavailable"), pytest.raises(PricingError) as refused:
            await quote(CHEN_JING)

        assert (refused.value.code, refused.value.retryable) == ("unavailable", True)

    async def test_timeout(self):
        with pytest.raises(PricingError) as refused:
            await quote(CHEN_JING, failure_mode="timeout")

        assert (refused.value.code, refused.value.retryable) == ("timeout", True)


class TestSettings:
    def test_live_needs_its_credentials(self):
        with pytest.raises(ValueError, match="SECRET"):
            pricing_service(
                PricingSettings(provider="live", endpoint="https://pricing.internal/v1/quotes", app_id="a")
            )

    def test_a_live_configuration(self):
        settings = PricingSettings(
            provider="live", endpoint="https://p.internal/v1/quotes", app_id="ihos", secret="s3cr3t"
        )  # type: ignore[arg-type]

        priced = pricing_service(settings)

        assert isinstance(priced, HttpPricingService)
        assert "s3cr3t" not in repr(settings) and "s3cr3t" not in repr(priced.config)
