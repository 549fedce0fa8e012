"""Real-name verification: the registry of demo people, the sandbox's answers and failing cases, and
the real client's HMAC-SM3 signing in both directions."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest

from ihos.integrations.identity import (
    IdentityServiceError,
    demo_people,
    get_identity_verifier,
    wire,
)
from ihos.integrations.identity.client import HttpIdentityVerifier, IdentityConfig
from ihos.integrations.identity.sandbox import IdentitySandbox, control, registry, sandbox_config
from ihos.integrations.settings import IdentitySandboxSettings, IdentitySettings
from ihos.kit.idcard import check_digit, parse_id_number
from ihos.kit.time import clock
from ihos.security.gm import hmac_sm3, sm3

CASES = registry()["failing_cases"]
ZHANG_WEI = next(person for person in demo_people() if person.name == "张伟")


def verifier(**sandbox: object):
    return get_identity_verifier(settings=IdentitySettings(sandbox=IdentitySandboxSettings(**sandbox)))


def client_of(sandbox: IdentitySandbox, **config: str) -> HttpIdentityVerifier:
    base = sandbox_config()
    merged = IdentityConfig(
        endpoint=config.get("endpoint", base.endpoint),
        app_id=config.get("app_id", base.app_id),
        secret=config.get("secret", base.secret),
    )
    return HttpIdentityVerifier(merged, timeout=1, transport=sandbox.transport())


class TestRegistry:
    def test_about_thirty_people_with_valid_distinct_numbers_and_phones(self):
        people = demo_people()
        assert 28 <= len(people) <= 32
        assert len({p.id_number for p in people}) == len(people)
        assert len({p.phone for p in people}) == len(people)
        for person in people:
            parsed = parse_id_number(person.id_number, today=date(2026, 11, 27))
            assert (parsed.birth_date, parsed.sex) == (person.birth_date, person.sex), person.name
            assert len(person.phone) == 11

    def test_the_failing_cases_are_documented_and_consistent(self):
        numbers = {p.id_number: p for p in demo_people()}
        assert numbers[CASES["timeout"]["id_number"]].behaviour == "timeout"
        assert numbers[CASES["unavailable"]["id_number"]].behaviour == "unavailable"
        assert CASES["not_found"]["id_number"] not in numbers
        not_found = CASES["not_found"]["id_number"]
        assert check_digit(not_found[:17]) == not_found[17]
        mismatched = CASES["mismatched"]
        assert numbers[mismatched["id_number"]].name != mismatched["name"]


class TestSandbox:
    async def test_it_works(self):
        check = await verifier().verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert check.status == "matched"
        assert check.reference.startswith("SBX")

    async def test_every_ordinary_person_matches(self):
        checker = verifier()
        for person in demo_people():
            if person.behaviour is None:
                assert (await checker.verify(person.name, person.id_number)).status == "matched", person.name

    async def test_lower_case_x_and_spaces(self):
        person = next(p for p in demo_people() if p.id_number.endswith("X"))
        check = await verifier().verify(person.name, " " + person.id_number.lower() + " ")
        assert check.status == "matched"

    async def test_mismatched_name(self):
        check = await verifier().verify(CASES["mismatched"]["name"], CASES["mismatched"]["id_number"])
        assert check.status == "mismatched"

    async def test_not_found(self):
        check = await verifier().verify(CASES["not_found"]["name"], CASES["not_found"]["id_number"])
        assert check.status == "not_found"

    async def test_each_check_has_its_own_reference(self):
        checker = verifier()
        first = await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        second = await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert first.reference != second.reference

    @pytest.mark.parametrize("id_number", ["110105198503120136", "1101051985031201", "11010519850312013A"])
    async def test_invalid_numbers_are_refused(self, id_number):
        with pytest.raises(IdentityServiceError) as refused:
            await verifier().verify(ZHANG_WEI.name, id_number)
        assert (refused.value.code, refused.value.retryable) == ("invalid_id_number", False)

    @pytest.mark.parametrize("name", ["", "   ", "张" * 51])
    async def test_invalid_names_are_refused(self, name):
        with pytest.raises(IdentityServiceError) as refused:
            await verifier().verify(name, ZHANG_WEI.id_number)
        assert refused.value.code == "invalid_request"

    @pytest.mark.parametrize(("case", "code"), [("timeout", "timeout"), ("unavailable", "unavailable")])
    async def test_people_who_always_fail(self, case, code):
        with pytest.raises(IdentityServiceError) as failed:
            await verifier().verify(CASES[case]["name"], CASES[case]["id_number"])
        assert (failed.value.code, failed.value.retryable) == (code, True)

    @pytest.mark.parametrize("mode", ["timeout", "unavailable"])
    async def test_whole_service_failures_from_settings_and_control(self, mode):
        with pytest.raises(IdentityServiceError) as failed:
            await verifier(failure_mode=mode).verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert (failed.value.code, failed.value.retryable) == (mode, True)
        with control.failing(mode), pytest.raises(IdentityServiceError):
            await verifier().verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert (await verifier().verify(ZHANG_WEI.name, ZHANG_WEI.id_number)).status == "matched"

    async def test_no_unmasked_id_number_or_name_in_the_logs(self, caplog):
        caplog.set_level("DEBUG")
        await verifier().verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        with pytest.raises(IdentityServiceError):
            await verifier().verify(CASES["unavailable"]["name"], CASES["unavailable"]["id_number"])
        assert "110***********0135" in caplog.text
        assert ZHANG_WEI.id_number not in caplog.text
        assert CASES["unavailable"]["id_number"] not in caplog.text
        assert ZHANG_WEI.name not in caplog.text


class TestWire:
    async def test_the_request_is_signed_with_hmac_sm3(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())
        seen: list[httpx.Request] = []

        async def spy(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await sandbox.handle(request)

        clock.freeze()
        checker = client_of(sandbox)
        checker.transport = httpx.MockTransport(spy)
        await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)

        (request,) = seen
        headers = request.headers
        body = json.loads(request.content)
        assert (body["name"], body["id_number"]) == (ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert headers["X-Idv-App-Id"] == "ihos-sandbox"
        assert headers["X-Idv-Timestamp"] == str(int(clock.now().timestamp()))
        assert len(headers["X-Idv-Nonce"]) == 32
        # Recomputed here from the documented canonical string, with the SM3 primitives directly.
        canonical = "\n".join(
            [
                "POST",
                "/v1/identity/verify",
                headers["X-Idv-Timestamp"],
                headers["X-Idv-Nonce"],
                sm3(request.content).hex(),
            ]
        )
        assert (
            headers["X-Idv-Signature"] == hmac_sm3(b"ihos-sandbox-identity-secret", canonical.encode()).hex()
        )

    async def test_wrong_secret(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())
        with pytest.raises(IdentityServiceError) as refused:
            await client_of(sandbox, secret="guess").verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        # The sandbox signs its 401 with the real secret, which this client does not know.
        assert (refused.value.code, refused.value.retryable) == ("bad_response", False)

    async def test_unknown_app(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())
        with pytest.raises(IdentityServiceError) as refused:
            await client_of(sandbox, app_id="someone").verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert (refused.value.code, refused.value.retryable) == ("unknown_app", False)

    async def test_stale_timestamp(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())
        checker = client_of(sandbox)

        async def late(request: httpx.Request) -> httpx.Response:
            clock.travel(timedelta(minutes=6))
            return await sandbox.handle(request)

        checker.transport = httpx.MockTransport(late)
        with pytest.raises(IdentityServiceError) as refused:
            await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert refused.value.code == "stale_timestamp"

    async def test_a_tampered_request_is_refused(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())

        async def tamper(request: httpx.Request) -> httpx.Response:
            body = request.content.replace(ZHANG_WEI.name.encode(), "张卫".encode())
            forged = httpx.Request("POST", request.url, content=body, headers=request.headers)
            return await sandbox.handle(forged)

        checker = client_of(sandbox)
        checker.transport = httpx.MockTransport(tamper)
        with pytest.raises(IdentityServiceError) as refused:
            await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert refused.value.code == "invalid_signature"

    async def test_a_tampered_answer_is_refused(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())

        async def tamper(request: httpx.Request) -> httpx.Response:
            genuine = await sandbox.handle(request)
            return httpx.Response(
                200, content=genuine.content.replace(b"mismatched", b"matched"), headers=genuine.headers
            )

        checker = client_of(sandbox)
        checker.transport = httpx.MockTransport(tamper)
        with pytest.raises(IdentityServiceError) as refused:
            await checker.verify(CASES["mismatched"]["name"], CASES["mismatched"]["id_number"])
        assert (refused.value.code, refused.value.retryable) == ("invalid_response_signature", False)

    async def test_a_replayed_answer_is_refused(self):
        sandbox = IdentitySandbox(settings=IdentitySandboxSettings())
        recorded: list[httpx.Response] = []

        async def record(request: httpx.Request) -> httpx.Response:
            recorded.append(await sandbox.handle(request))
            return recorded[-1]

        checker = client_of(sandbox)
        checker.transport = httpx.MockTransport(record)
        await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        checker.transport = httpx.MockTransport(lambda _r: recorded[0])
        with pytest.raises(IdentityServiceError) as refused:
            await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert refused.value.code == "invalid_response_signature"

    @pytest.mark.parametrize(("status", "retryable"), [(502, True), (429, True), (400, False)])
    async def test_unsigned_errors_from_in_between(self, status, retryable):
        checker = HttpIdentityVerifier(
            sandbox_config(),
            timeout=1,
            transport=httpx.MockTransport(lambda _r: httpx.Response(status, text="x")),
        )
        with pytest.raises(IdentityServiceError) as failed:
            await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert (failed.value.code, failed.value.retryable) == ("bad_response", retryable)

    async def test_signed_rate_limit_is_retryable(self):
        config = sandbox_config()

        def limited(request: httpx.Request) -> httpx.Response:
            content = b'{"error": "rate_limited", "message": "slow down"}'
            signature = wire.response_signature(
                config.secret, status=429, nonce=request.headers["X-Idv-Nonce"], timestamp="1", body=content
            )
            return httpx.Response(
                429, content=content, headers={"X-Idv-Timestamp": "1", "X-Idv-Signature": signature}
            )

        checker = HttpIdentityVerifier(config, timeout=1, transport=httpx.MockTransport(limited))
        with pytest.raises(IdentityServiceError) as failed:
            await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert (failed.value.code, failed.value.retryable) == ("rate_limited", True)

    async def test_connection_failure(self):
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        checker = HttpIdentityVerifier(sandbox_config(), timeout=1, transport=httpx.MockTransport(refuse))
        with pytest.raises(IdentityServiceError) as failed:
            await checker.verify(ZHANG_WEI.name, ZHANG_WEI.id_number)
        assert (failed.value.code, failed.value.retryable) == ("unreachable", True)


class TestFactory:
    def test_live(self):
        settings = IdentitySettings(
            provider="live",
            endpoint="https://idv.example.cn/v1/identity/verify",
            app_id="hospital",
            secret="s3",
        )
        checker = get_identity_verifier(settings=settings)
        assert isinstance(checker, HttpIdentityVerifier)
        assert checker.transport is None
        assert (checker.config.endpoint, checker.config.app_id, checker.config.secret) == (
            "https://idv.example.cn/v1/identity/verify",
            "hospital",
            "s3",
        )

    def test_sandbox_by_default(self):
        checker = get_identity_verifier()
        assert isinstance(checker, HttpIdentityVerifier)
        assert isinstance(checker.transport, httpx.MockTransport)
