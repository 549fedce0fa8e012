"""The real clients speaking ihos's identity wire format (``wire``): the real-name verification provider,
and the intranet's priority levels for the queue."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ihos.integrations.identity import wire
from ihos.integrations.identity.base import UNAVAILABLE, IdentityCheck, IdentityServiceError, PriorityAnswer
from ihos.kit.time import now
from ihos.security.masking import mask_id_number

log = logging.getLogger(__name__)

RESULTS = frozenset({"matched", "mismatched", "not_found"})
MESSAGES = {
    "invalid_id_number": "身份证号码不正确",
    "invalid_request": "实名认证请求不正确",
    "rate_limited": "实名认证请求过于频繁，请稍后再试",
}


@dataclass(frozen=True)
class IdentityConfig:
    endpoint: str
    app_id: str
    secret: str = field(repr=False)


class HttpIdentityVerifier:
    def __init__(
        self, config: IdentityConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def verify(self, name: str, id_number: str) -> IdentityCheck:
        request_id = str(uuid.uuid4())
        body = json.dumps(
            {"request_id": request_id, "name": name, "id_number": id_number}, ensure_ascii=False
        ).encode()
        nonce = secrets.token_hex(16)
        response = await self._post(body, nonce)
        try:
            return self._answer(response, request_id=request_id, nonce=nonce)
        except IdentityServiceError as exc:
            log.warning("identity check for %s failed: %s", mask_id_number(id_number), exc.code)
            raise

    async def _post(self, body: bytes, nonce: str) -> httpx.Response:
        timestamp = str(int(now().timestamp()))
        signature = wire.request_signature(
            self.config.secret,
            path=urlsplit(self.config.endpoint).path or "/",
            timestamp=timestamp,
            nonce=nonce,
            body=body,
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            wire.APP_ID: self.config.app_id,
            wire.TIMESTAMP: timestamp,
            wire.NONCE: nonce,
            wire.SIGNATURE: signature,
        }
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                return await http.post(self.config.endpoint, content=body, headers=headers)
        except httpx.TimeoutException:
            raise IdentityServiceError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise IdentityServiceError("unreachable", UNAVAILABLE, retryable=True) from None

    def _answer(self, response: httpx.Response, *, request_id: str, nonce: str) -> IdentityCheck:
        retryable = response.status_code == 429 or response.status_code >= 500
        if not self._signed(response, nonce):
            if response.status_code == 200:
                raise IdentityServiceError("invalid_response_signature", UNAVAILABLE, retryable=False)
            # An unsigned error comes from something in between (a proxy), or our secret is wrong.
            log.warning("identity service answered %s without a valid signature", response.status_code)
            raise IdentityServiceError("bad_response", UNAVAILABLE, retryable=retryable)
        body = _json_object(response)
        if response.status_code != 200:
            code = str(body.get("error") or "bad_response")
            raise IdentityServiceError(code, MESSAGES.get(code, UNAVAILABLE), retryable=retryable)
        result, reference = body.get("result"), body.get("reference")
        if body.get("request_id") != request_id or result not in RESULTS or not isinstance(reference, str):
            raise IdentityServiceError("bad_response", UNAVAILABLE, retryable=True)
        return IdentityCheck(status=result, reference=reference)

    def _signed(self, response: httpx.Response, nonce: str) -> bool:
        expected = wire.response_signature(
            self.config.secret,
            status=response.status_code,
            nonce=nonce,
            timestamp=response.headers.get(wire.TIMESTAMP, ""),
            body=response.content,
        )
        return wire.same(expected, response.headers.get(wire.SIGNATURE))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise IdentityServiceError("bad_response", UNAVAILABLE, retryable=True)
    return body


MAX_LEVEL = 9


class HttpPriorityService:
    """The intranet's priority interface: ``POST <endpoint>`` with ``{"request_id", "name", "id_number"}``,
    signed like the real-name check; 200 answers ``{"request_id", "level": 0…9, "reference"}``. Errors are
    ``IdentityServiceError`` (the caller decides whether to go on without a level)."""

    def __init__(
        self, config: IdentityConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        # The signing and the transport are the real-name client's; only the answer differs.
        self._http = HttpIdentityVerifier(config, timeout=timeout, transport=transport)

    async def priority_level(self, name: str, id_number: str) -> PriorityAnswer:
        request_id = str(uuid.uuid4())
        body = json.dumps(
            {"request_id": request_id, "name": name, "id_number": id_number}, ensure_ascii=False
        ).encode()
        nonce = secrets.token_hex(16)
        response = await self._http._post(body, nonce)
        try:
            return self._answer(response, request_id=request_id, nonce=nonce)
        except IdentityServiceError as exc:
            log.warning("priority level for %s failed: %s", mask_id_number(id_number), exc.code)
            raise

    def _answer(self, response: httpx.Response, *, request_id: str, nonce: str) -> PriorityAnswer:
        retryable = response.status_code == 429 or response.status_code >= 500
        if not self._http._signed(response, nonce):
            if response.status_code == 200:
                raise IdentityServiceError("invalid_response_signature", UNAVAILABLE, retryable=False)
            raise IdentityServiceError("bad_response", UNAVAILABLE, retryable=retryable)
        body = _json_object(response)
        if response.status_code != 200:
            code = str(body.get("error") or "bad_response")
            raise IdentityServiceError(code, MESSAGES.get(code, UNAVAILABLE), retryable=retryable)
        level, reference = body.get("level"), body.get("reference")
        if (
            body.get("request_id") != request_id
            or not isinstance(level, int)
            or isinstance(level, bool)
            or not 0 <= level <= MAX_LEVEL
            or not isinstance(reference, str)
        ):
            raise IdentityServiceError("bad_response", UNAVAILABLE, retryable=True)
        return PriorityAnswer(level=level, reference=reference)
