"""The Alipay sandbox (支付宝沙箱): a fake OpenAPI gateway for ``alipay.system.oauth.token``.

``issue_auth_code`` plays the user's consent in the Alipay app: it issues an ``auth_code`` for a
sandbox user. The real client (``AlipayLoginClient``) redeems it through an in-process transport,
and the sandbox answers as Alipay does: it verifies the request's RSA2 signature with the app public
key, checks the app id, timestamp and method, consumes the code on first use (whatever the outcome),
refuses unknown, used, foreign or expired codes with ``isv.code-invalid``, and signs every answer
with its own "Alipay" private key, so the client's response verification runs as in production.

Keys: the app key pair is the configured one when set, otherwise generated; the sandbox's Alipay key
pair is always generated. Generated keys live for the process (both ends of the exchange run in
it), so nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, cast
from urllib.parse import parse_qsl

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.alipay import signing
from ihos.integrations.alipay.client import (
    ALIPAY_ZONE,
    ERROR_NODE,
    METHOD,
    RESPONSE_NODE,
    TIMESTAMP_FORMAT,
)
from ihos.integrations.settings import AlipaySandboxSettings
from ihos.kit.time import now
from ihos.models.sandbox import SandboxOAuthCode

FailureMode = Literal["none", "unavailable", "timeout"]

PROVIDER = "alipay"
SANDBOX_GATEWAY = "https://openapi.alipay.sandbox.ihos.invalid/gateway.do"
SANDBOX_APP_ID = "9021000000000000"
TIMESTAMP_TOLERANCE = timedelta(minutes=15)
PURGE_AFTER = timedelta(days=1)
REQUIRED = {
    "app_id": "isv.missing-app-id",
    "method": "isv.missing-method",
    "charset": "isv.missing-charset",
    "sign_type": "isv.missing-signature-type",
    "sign": "isv.missing-signature",
    "timestamp": "isv.missing-timestamp",
    "version": "isv.missing-version",
}


@lru_cache
def generated_key(purpose: str) -> rsa.RSAPrivateKey:
    """A 2048-bit key per purpose ("app", "alipay") for the life of the process."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class AlipaySandboxControl:
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


control = AlipaySandboxControl()


def user_id_for(hint: str) -> str:
    """A 2088… id, stable per hint; Alipay's user_id is the same for every app."""
    number = int.from_bytes(hashlib.sha256(f"alipay-user:{hint}".encode()).digest()[:8], "big")
    return f"2088{number % 10**12:012d}"


def open_id_for(app_id: str, hint: str) -> str:
    """Stable per hint and app, as Alipay's open_id is."""
    return "0" + hashlib.sha256(f"alipay-open:{app_id}:{hint}".encode()).hexdigest()[:45]


class AlipaySandbox:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: AlipaySandboxSettings,
        app_id: str,
        app_public_key: rsa.RSAPublicKey,
        alipay_private_key: rsa.RSAPrivateKey,
    ) -> None:
        self.session = session
        self.settings = settings
        self.app_id = app_id
        self.app_public_key = app_public_key
        self.alipay_private_key = alipay_private_key

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def issue_auth_code(self, user_hint: str | None = None) -> str:
        """What the mini-program's ``my.getAuthCode`` gets. No hint: a new sandbox user each time."""
        hint = user_hint or f"anonymous-{secrets.token_hex(8)}"
        if len(hint) > 64:
            raise ValueError("user_hint is longer than 64 characters")
        code = secrets.token_hex(16)
        await self.session.execute(
            delete(SandboxOAuthCode).where(
                SandboxOAuthCode.provider == PROVIDER, SandboxOAuthCode.expires_at < now() - PURGE_AFTER
            )
        )
        self.session.add(
            SandboxOAuthCode(
                provider=PROVIDER,
                code=code,
                app_id=self.app_id,
                user_hint=hint,
                expires_at=now() + timedelta(seconds=self.settings.code_ttl_seconds),
            )
        )
        await self.session.flush()
        return code

    async def handle(self, request: httpx.Request) -> httpx.Response:
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        if mode == "unavailable":
            return self._error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")
        params = dict(request.url.params)
        params.update(parse_qsl(request.content.decode(), keep_blank_values=True))
        refusal = self._check_request(params)
        if refusal is not None:
            return refusal
        if params.get("grant_type") != "authorization_code":
            return self._invalid("isv.grant-type-invalid", "grant_type参数不正确")
        hint = await self._redeem(params.get("code", ""))
        if hint is None:
            return self._invalid("isv.code-invalid", "授权码code无效")
        return self._signed(RESPONSE_NODE, self._token_node(hint))

    def _check_request(self, params: dict[str, str]) -> httpx.Response | None:
        for name, sub_code in REQUIRED.items():
            if not params.get(name):
                return self._error("40001", "Missing Required Arguments", sub_code, f"缺少参数{name}")
        if params["app_id"] != self.app_id:
            return self._invalid("isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != "RSA2":
            return self._invalid("isv.invalid-signature-type", "无效的签名类型")
        if not signing.verify(self.app_public_key, signing.signing_string(params), params["sign"]):
            return self._invalid("isv.invalid-signature", "验签出错")
        if not _timestamp_ok(params["timestamp"]):
            return self._invalid("isv.invalid-timestamp", "非法的时间戳参数")
        if params["method"] != METHOD:
            return self._invalid("isv.invalid-method", "不存在的方法名")
        return None

    async def _redeem(self, code: str) -> str | None:
        """The code's user hint, or None. Alipay spends a code on first use, so does this."""
        moment = now()
        this_code = (SandboxOAuthCode.provider == PROVIDER, SandboxOAuthCode.code == code)
        row = (
            await self.session.execute(
                select(
                    SandboxOAuthCode.user_hint, SandboxOAuthCode.app_id, SandboxOAuthCode.expires_at
                ).where(*this_code)
            )
        ).one_or_none()
        claimed = await self.session.execute(
            update(SandboxOAuthCode)
            .where(*this_code, SandboxOAuthCode.used_at.is_(None))
            .values(used_at=moment, updated_at=moment)
        )
        if row is None or cast(CursorResult[Any], claimed).rowcount != 1:
            return None
        if row.app_id != self.app_id or row.expires_at <= moment:
            return None
        return str(row.user_hint)

    def _token_node(self, hint: str) -> dict[str, Any]:
        return {
            "access_token": f"authusrB{secrets.token_hex(16)}",
            "auth_start": now().astimezone(ALIPAY_ZONE).strftime(TIMESTAMP_FORMAT),
            "expires_in": 1296000,
            "re_expires_in": 2592000,
            "refresh_token": f"authusrB{secrets.token_hex(16)}",
            "user_id": user_id_for(hint),
            "open_id": open_id_for(self.app_id, hint),
        }

    def _invalid(self, sub_code: str, sub_msg: str) -> httpx.Response:
        return self._error("40002", "Invalid Arguments", sub_code, sub_msg)

    def _error(self, code: str, msg: str, sub_code: str, sub_msg: str) -> httpx.Response:
        return self._signed(ERROR_NODE, {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg})

    def _signed(self, name: str, node: dict[str, Any]) -> httpx.Response:
        # The node text is written once and signed as written, as Alipay does.
        node_text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = signing.sign(self.alipay_private_key, node_text)
        body = f'{{"{name}":{node_text},"sign":"{signature}"}}'
        return httpx.Response(
            200, content=body.encode("utf-8"), headers={"Content-Type": "text/html;charset=utf-8"}
        )


def _timestamp_ok(value: str) -> bool:
    try:
        sent = datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=ALIPAY_ZONE)
    except ValueError:
        return False
    return abs(now() - sent) <= TIMESTAMP_TOLERANCE
