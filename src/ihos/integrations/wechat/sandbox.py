"""The WeChat sandbox (微信沙箱): a fake ``wx.login`` and ``jscode2session`` that behave like WeChat.

``issue_code`` plays ``wx.login`` on the phone: it issues a code for a sandbox user. The real
client (``WeChatLoginClient``) then redeems it over WeChat's wire format through an in-process
transport. Like WeChat: the app id and secret are checked (40013, 40125), a code works once (40163)
and for five minutes, an unknown, foreign or expired code is 40029, and the same ``openid_hint``
always gives the same openid (per app) and unionid. Codes live in ``sandbox_oauth_codes`` so that
the process that issues a code and the one that redeems it may differ.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Literal, cast

import httpx
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.settings import WeChatSandboxSettings
from ihos.integrations.wechat.base import CODE_BEEN_USED, FREQUENCY_LIMIT, INVALID_CODE, SYSTEM_BUSY
from ihos.integrations.wechat.client import WeChatConfig
from ihos.kit.time import now
from ihos.models.sandbox import SandboxOAuthCode

FailureMode = Literal["none", "busy", "frequency_limit", "timeout"]

PROVIDER = "wechat"
SANDBOX_ENDPOINT = "https://api.weixin.sandbox.ihos.invalid/sns/jscode2session"
SANDBOX_APP_ID = "wx00000000sandbox0"
SANDBOX_APP_SECRET = "ihos-sandbox-wechat-secret"
# Issued codes are kept a day after expiry (enough to answer 40163 rather than 40029), then purged.
PURGE_AFTER = timedelta(days=1)


def sandbox_config(app_id: str = "", app_secret: str = "") -> WeChatConfig:
    return WeChatConfig(
        app_id=app_id or SANDBOX_APP_ID,
        app_secret=app_secret or SANDBOX_APP_SECRET,
        endpoint=SANDBOX_ENDPOINT,
    )


class WeChatSandboxControl:
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


control = WeChatSandboxControl()


def openid_for(app_id: str, hint: str) -> str:
    """28 characters starting with "o", like WeChat's; differs per app, as WeChat's does."""
    return "o" + _digest(f"openid:{app_id}:{hint}")[:27]


def unionid_for(hint: str) -> str:
    return "o" + _digest(f"unionid:{hint}")[:27]


class WeChatSandbox:
    def __init__(
        self, session: AsyncSession, *, settings: WeChatSandboxSettings, config: WeChatConfig
    ) -> None:
        self.session = session
        self.settings = settings
        self.config = config

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def issue_code(self, openid_hint: str | None = None) -> str:
        """What ``wx.login`` gives the mini-program. No hint: a new sandbox user each time."""
        hint = openid_hint or f"anonymous-{secrets.token_hex(8)}"
        if len(hint) > 64:
            raise ValueError("openid_hint is longer than 64 characters")
        code = secrets.token_urlsafe(24)
        await self.session.execute(
            delete(SandboxOAuthCode).where(
                SandboxOAuthCode.provider == PROVIDER, SandboxOAuthCode.expires_at < now() - PURGE_AFTER
            )
        )
        self.session.add(
            SandboxOAuthCode(
                provider=PROVIDER,
                code=code,
                app_id=self.config.app_id,
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
        if mode == "busy":
            return _error(SYSTEM_BUSY, "system error")
        query = request.url.params
        refusal = self._check_credentials(query.get("appid"), query.get("secret"), query.get("grant_type"))
        if refusal is not None:
            return refusal
        if mode == "frequency_limit":
            return _error(FREQUENCY_LIMIT, "api minute-quota reach limit  mustslower  retry next minute")
        code = query.get("js_code")
        if not code:
            return _error(41008, "missing code")
        return await self._redeem(code)

    def _check_credentials(
        self, app_id: str | None, secret: str | None, grant_type: str | None
    ) -> httpx.Response | None:
        if app_id != self.config.app_id:
            return _error(40013, "invalid appid")
        if secret != self.config.app_secret:
            return _error(40125, "invalid appsecret")
        if grant_type != "authorization_code":
            return _error(40002, "invalid grant_type")
        return None

    async def _redeem(self, code: str) -> httpx.Response:
        # Claim the code with one conditional UPDATE, so two redemptions cannot both succeed.
        moment = now()
        this_code = (
            SandboxOAuthCode.provider == PROVIDER,
            SandboxOAuthCode.code == code,
            SandboxOAuthCode.app_id == self.config.app_id,
        )
        claimed = await self.session.execute(
            update(SandboxOAuthCode)
            .where(*this_code, SandboxOAuthCode.used_at.is_(None), SandboxOAuthCode.expires_at > moment)
            .values(used_at=moment, updated_at=moment)
        )
        row = (
            await self.session.execute(
                select(SandboxOAuthCode.user_hint, SandboxOAuthCode.used_at).where(*this_code)
            )
        ).one_or_none()
        if cast(CursorResult[Any], claimed).rowcount == 1 and row is not None:
            return _reply(self._session_body(row.user_hint))
        if row is not None and row.used_at is not None:
            return _error(CODE_BEEN_USED, "code been used")
        return _error(INVALID_CODE, "invalid code")

    def _session_body(self, hint: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
            "openid": openid_for(self.config.app_id, hint),
        }
        if self.settings.include_unionid:
            body["unionid"] = unionid_for(hint)
        return body


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def _error(errcode: int, errmsg: str) -> httpx.Response:
    return _reply({"errcode": errcode, "errmsg": f"{errmsg}, rid: {_rid()}"})


def _reply(body: dict[str, Any]) -> httpx.Response:
    # WeChat serves this JSON as text/plain; the client must not depend on the content type.
    return httpx.Response(200, content=json.dumps(body).encode(), headers={"Content-Type": "text/plain"})
