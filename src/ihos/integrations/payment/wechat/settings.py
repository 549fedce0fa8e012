"""WeChat Pay settings (微信支付), hung by the lead at ``IHOS_INTEGRATIONS__WECHAT_PAY__…``.

``sandbox`` (the default) needs nothing: the fake WeChat Pay runs in-process with its own merchant
number, keys and APIv3 key. ``live`` needs everything the merchant platform (商户平台) hands out; see
docs/operator/payments-wechat.md.

This module imports nothing from the integration packages, so ``ihos.integrations.settings`` may
import it at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

FailureMode = Literal["none", "system_error", "frequency_limited", "timeout"]
RefundOutcome = Literal["SUCCESS", "ABNORMAL", "CLOSED"]


class WeChatPaySandboxSettings(BaseModel):
    """How the fake WeChat Pay behaves; ``ihos.integrations.payment.wechat.sandbox.control`` can
    change the same things at run time (tests, the demo console)."""

    # Every call: none | system_error (500 SYSTEM_ERROR) | frequency_limited (429) | timeout.
    failure_mode: FailureMode = "none"
    # How long after the event a notification is POSTed to the notify URL.
    notification_delay_seconds: float = Field(default=0, ge=0)
    # How many times each notification is sent (each copy signed afresh, as WeChat's resends are).
    notification_copies: int = Field(default=1, ge=1, le=10)
    # How long a refund stays PROCESSING, and how it ends.
    refund_delay_seconds: float = Field(default=0, ge=0)
    refund_outcome: RefundOutcome = "SUCCESS"
    # The fee rate printed in the trade bill (费率), in percent, as the merchant's contract says.
    fee_rate_percent: str = "0.60"


class WeChatPaySettings(BaseModel):
    """A directly connected merchant (直连商户) using the WeChat Pay public key (微信支付公钥).

    Keys: PEM, or the bare base64 between the PEM lines. A ``*_path`` wins over the value. In sandbox
    mode an empty value means the sandbox's own (a merchant key pair generated per process).
    """

    provider: Literal["sandbox", "live"] = "sandbox"
    mchid: str = ""  # 商户号
    # The AppID the payer's openid belongs to: the mini-program's (小程序) for mini_program and the
    # Official Account's (公众号) for jsapi; H5 needs an AppID bound to the merchant as well.
    appid: str = ""
    # 商户API私钥 (apiclient_key.pem) and the serial number of its certificate (商户API证书序列号).
    merchant_private_key: SecretStr = SecretStr("")
    merchant_private_key_path: Path | None = None
    merchant_certificate_serial: str = ""
    # APIv3 密钥: 32 characters, set in the merchant platform; decrypts notifications.
    apiv3_key: SecretStr = SecretStr("")
    # 微信支付公钥 (pub_key.pem) and its id (PUB_KEY_ID_…): verifies answers and notifications.
    wechatpay_public_key: str = ""
    wechatpay_public_key_path: Path | None = None
    wechatpay_public_key_id: str = ""
    # The API host; https://api2.mch.weixin.qq.com is WeChat's standby (备域名).
    endpoint: str = "https://api.mch.weixin.qq.com"
    timeout_seconds: float = Field(default=10.0, gt=0)
    sandbox: WeChatPaySandboxSettings = Field(default_factory=WeChatPaySandboxSettings)
