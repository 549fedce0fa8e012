"""WeChat mini-program sign-in (微信小程序登录): ``get_wechat_login(session).code2session(code)``.

``live`` calls WeChat; ``sandbox`` (the default) runs the same client against an in-process fake
WeChat whose codes come from ``get_wechat_sandbox(session).issue_code(openid_hint)``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.integrations.settings import WeChatSettings
from ihos.integrations.wechat.base import WeChatLogin, WeChatLoginError, WeChatSession
from ihos.integrations.wechat.client import WeChatConfig, WeChatLoginClient
from ihos.integrations.wechat.sandbox import WeChatSandbox, sandbox_config

__all__ = [
    "WeChatLogin",
    "WeChatLoginError",
    "WeChatSandbox",
    "WeChatSession",
    "get_wechat_login",
    "get_wechat_sandbox",
    "issue_sandbox_code",
]


def get_wechat_login(session: AsyncSession, *, settings: WeChatSettings | None = None) -> WeChatLogin:
    """The sign-in exchange for one use; only the sandbox uses ``session`` (its issued codes)."""
    settings = settings or get_settings().integrations.wechat
    if settings.provider == "live":
        config = WeChatConfig(
            app_id=settings.app_id,
            app_secret=settings.app_secret.get_secret_value(),
            endpoint=settings.endpoint,
        )
        return WeChatLoginClient(config, timeout=settings.timeout_seconds)
    sandbox = get_wechat_sandbox(session, settings=settings)
    return WeChatLoginClient(sandbox.config, timeout=settings.timeout_seconds, transport=sandbox.transport())


def get_wechat_sandbox(session: AsyncSession, *, settings: WeChatSettings | None = None) -> WeChatSandbox:
    """The fake WeChat, for the endpoint that plays ``wx.login`` in the H5 demo and for tests.

    Available whatever the provider: callers decide whether to expose it (demo mode only)."""
    settings = settings or get_settings().integrations.wechat
    config = sandbox_config(settings.app_id, settings.app_secret.get_secret_value())
    return WeChatSandbox(session, settings=settings.sandbox, config=config)


async def issue_sandbox_code(
    session: AsyncSession, openid_hint: str | None = None, *, settings: WeChatSettings | None = None
) -> str:
    """The sandbox's ``wx.login``: a code for the sandbox user named by ``openid_hint``."""
    return await get_wechat_sandbox(session, settings=settings).issue_code(openid_hint)
