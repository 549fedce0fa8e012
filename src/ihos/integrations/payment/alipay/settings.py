"""Settings of the Alipay payment channel (支付宝支付): ``AlipayPaySettings``.

Not yet part of ``IntegrationSettings``; until it is, callers hand the settings to
``alipay_channel(session, settings)`` (the defaults are the sandbox's). See
docs/operator/payments-alipay-unionpay.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

# none | unavailable (20000 isp.unknow-error) | timeout | system_error (40004 ACQ.SYSTEM_ERROR)
AlipayFailureMode = Literal["none", "unavailable", "timeout", "system_error"]


class AlipayPaySandboxSettings(BaseModel):
    """The fake Alipay gateway (支付宝沙箱). ``control`` in the sandbox module wins over these at run time."""

    failure_mode: AlipayFailureMode = "none"
    # Every notification is sent this many seconds after the event (Alipay's are usually immediate).
    notification_delay_seconds: int = Field(default=0, ge=0)


class AlipayPaySettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # The Alipay application (mini-program or web app) with the payment products signed. Empty in
    # sandbox mode: the sandbox's own app id. Usually the same app as Alipay sign-in.
    app_id: str = ""
    gateway: str = "https://openapi.alipay.com/gateway.do"
    # RSA2 keys: PEM, or the bare base64 that Alipay's key tool prints. A ``*_path`` wins over the value.
    # Without an app key in sandbox mode, the process's generated key pair is used.
    app_private_key: SecretStr = SecretStr("")
    app_private_key_path: Path | None = None
    # Alipay's public key (支付宝公钥): verifies every answer and notification. Unused in sandbox mode.
    alipay_public_key: str = ""
    alipay_public_key_path: Path | None = None
    # H5 (alipay.trade.wap.pay): where the cashier sends the patient back after paying or leaving.
    h5_return_url: str = ""
    h5_quit_url: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0)
    # How old a notification may be (by its notify_time). Alipay resends an unacknowledged notification
    # with the same notify_id for about 25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h).
    notification_max_age_seconds: int = Field(default=26 * 3600, gt=0)
    # How far in the future a notify_time may be (clock skew).
    notification_clock_skew_seconds: int = Field(default=300, ge=0)
    sandbox: AlipayPaySandboxSettings = Field(default_factory=AlipayPaySandboxSettings)
