"""The real-name sandbox (实名认证沙箱): a fake provider with a registry of demo people.

It speaks ihos's identity wire format (``wire``) to the real client through an in-process transport:
it checks the app id, timestamp and HMAC-SM3 signature and signs its answers. Answers come from
``people.json``: a registered name and number → ``matched``; a registered number with another name →
``mismatched``; a valid number not registered → ``not_found``; an invalid number → 400
``invalid_id_number``. Two registered people always fail (``behaviour``: ``timeout``, ``unavailable``),
and the whole sandbox can be told to fail (settings or ``control``).

It never logs or stores an ID number or a name unmasked.

``PrioritySandbox`` plays the intranet's priority interface for the queue: patients aged ``senior_age``
or more get ``senior_level``; the people of ``priority.json`` (the intranet's own registry: disabled
patients, groups the hospital configures) get their level. The answer is the level only; why stays in
this module.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import httpx

from ihos.integrations.identity import wire
from ihos.integrations.identity.client import IdentityConfig
from ihos.integrations.settings import IdentitySandboxSettings, PrioritySandboxSettings
from ihos.kit.idcard import InvalidIdNumber, normalise, parse_id_number
from ihos.kit.time import local_now, local_today, now
from ihos.security.masking import mask_id_number, mask_name

log = logging.getLogger(__name__)

FailureMode = Literal["none", "unavailable", "timeout"]

SANDBOX_ENDPOINT = "https://idv.sandbox.ihos.invalid/v1/identity/verify"
SANDBOX_APP_ID = "ihos-sandbox"
SANDBOX_SECRET = "ihos-sandbox-identity-secret"
MAX_NAME_LENGTH = 50


@dataclass(frozen=True)
class DemoPerson:
    name: str
    id_number: str
    phone: str
    sex: str
    birth_date: date
    role: str
    # None, or how the sandbox fails for this person: "timeout" | "unavailable"
    behaviour: str | None = None


@lru_cache
def registry() -> dict[str, Any]:
    text = resources.files("ihos.integrations.identity").joinpath("people.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def demo_people() -> list[DemoPerson]:
    """Everyone the sandbox knows, in registry order (the demo hospital seeds from this list)."""
    return [
        DemoPerson(
            name=entry["name"],
            id_number=entry["id_number"],
            phone=entry["phone"],
            sex=entry["sex"],
            birth_date=date.fromisoformat(entry["birth_date"]),
            role=entry["role"],
            behaviour=entry.get("behaviour"),
        )
        for entry in registry()["people"]
    ]


@lru_cache
def _people_by_number() -> dict[str, DemoPerson]:
    return {person.id_number: person for person in demo_people()}


def sandbox_config() -> IdentityConfig:
    return IdentityConfig(endpoint=SANDBOX_ENDPOINT, app_id=SANDBOX_APP_ID, secret=SANDBOX_SECRET)


class IdentitySandboxControl:
    """Switches the sandbox's failure mode at run time; when set, it wins over the setting."""

    def __init__(self) -> None:
        self.failure_mode: FailureMode | None = None

    @contextmanager
    def failing(self, mode: FailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous


control = IdentitySandboxControl()


class _Refusal(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        self.status, self.error, self.message = status, error, message


class IdentitySandbox:
    def __init__(self, *, settings: IdentitySandboxSettings, config: IdentityConfig | None = None) -> None:
        self.settings = settings
        self.config = config or sandbox_config()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        nonce = request.headers.get(wire.NONCE, "")
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        try:
            if mode == "unavailable":
                raise _Refusal(503, "unavailable", "service unavailable")
            self._authenticate(request)
            request_id, name, id_number = _question(request.content)
            person = _people_by_number().get(id_number)
            if person is not None and person.behaviour == "timeout":
                raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
            if person is not None and person.behaviour == "unavailable":
                raise _Refusal(503, "unavailable", "service unavailable")
        except _Refusal as refusal:
            return self._reply(refusal.status, {"error": refusal.error, "message": refusal.message}, nonce)
        result = "not_found" if person is None else ("matched" if person.name == name else "mismatched")
        reference = f"SBX{local_now():%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"
        log.info("sandbox identity check %s %s: %s", mask_name(name), mask_id_number(id_number), result)
        body = {
            "request_id": request_id,
            "result": result,
            "reference": reference,
        }
        return self._reply(200, body, nonce)

    def _authenticate(self, request: httpx.Request) -> None:
        headers = request.headers
        if headers.get(wire.APP_ID) != self.config.app_id:
            raise _Refusal(401, "unknown_app", "unknown app id")
        timestamp = headers.get(wire.TIMESTAMP, "")
        if (
            not timestamp.isdigit()
            or abs(now().timestamp() - int(timestamp)) > wire.TIMESTAMP_TOLERANCE_SECONDS
        ):
            raise _Refusal(401, "stale_timestamp", "timestamp missing or out of range")
        expected = wire.request_signature(
            self.config.secret,
            path=request.url.path,
            timestamp=timestamp,
            nonce=headers.get(wire.NONCE, ""),
            body=request.content,
        )
        if not wire.same(expected, headers.get(wire.SIGNATURE)):
            raise _Refusal(401, "invalid_signature", "signature does not match")

    def _reply(self, status: int, body: dict[str, Any], nonce: str) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False).encode()
        timestamp = str(int(now().timestamp()))
        signature = wire.response_signature(
            self.config.secret, status=status, nonce=nonce, timestamp=timestamp, body=content
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            wire.TIMESTAMP: timestamp,
            wire.SIGNATURE: signature,
        }
        return httpx.Response(status, content=content, headers=headers)


def _question(content: bytes) -> tuple[str, str, str]:
    """The request id, the name and the normalised ID number asked about, or a 400 refusal."""
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Refusal(400, "invalid_request", "body is not a JSON object")
    name, id_number, request_id = body.get("name"), body.get("id_number"), body.get("request_id")
    if not isinstance(request_id, str) or not isinstance(name, str) or not isinstance(id_number, str):
        raise _Refusal(400, "invalid_request", "request_id, name and id_number are required strings")
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise _Refusal(400, "invalid_request", "name is empty or too long")
    try:
        parsed = parse_id_number(normalise(id_number), today=local_today())
    except InvalidIdNumber:
        raise _Refusal(400, "invalid_id_number", "not a valid resident ID number") from None
    return request_id, name, parsed.value


# -- the intranet's priority levels (院内优先级) ---------------------------------------------------------

PRIORITY_SANDBOX_ENDPOINT = "https://intranet.sandbox.ihos.invalid/v1/priority"
PRIORITY_SANDBOX_SECRET = "ihos-sandbox-priority-secret"


@lru_cache
def _priority_registry() -> dict[str, int]:
    text = resources.files("ihos.integrations.identity").joinpath("priority.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return {entry["id_number"]: int(entry["level"]) for entry in document["people"]}


def priority_sandbox_config() -> IdentityConfig:
    return IdentityConfig(
        endpoint=PRIORITY_SANDBOX_ENDPOINT, app_id=SANDBOX_APP_ID, secret=PRIORITY_SANDBOX_SECRET
    )


priority_control = IdentitySandboxControl()


class PrioritySandbox(IdentitySandbox):
    """The fake intranet: same signing as the real-name sandbox, a level for an answer."""

    def __init__(self, *, settings: PrioritySandboxSettings, config: IdentityConfig | None = None) -> None:
        self.priority_settings = settings
        self.config = config or priority_sandbox_config()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        nonce = request.headers.get(wire.NONCE, "")
        mode = priority_control.failure_mode or self.priority_settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        try:
            if mode == "unavailable":
                raise _Refusal(503, "unavailable", "service unavailable")
            self._authenticate(request)
            request_id, _name, id_number = _question(request.content)
        except _Refusal as refusal:
            return self._reply(refusal.status, {"error": refusal.error, "message": refusal.message}, nonce)
        body = {
            "request_id": request_id,
            "level": self.level_of(id_number),
            "reference": f"PRI{local_now():%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}",
        }
        return self._reply(200, body, nonce)

    def level_of(self, id_number: str) -> int:
        settings = self.priority_settings
        parsed = parse_id_number(id_number, today=local_today())
        senior = settings.senior_level if parsed.age_on(local_today()) >= settings.senior_age else 0
        return max(senior, _priority_registry().get(id_number, 0))
