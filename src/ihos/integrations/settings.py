"""Which implementation of each counterpart runs, and its credentials (``IHOS_INTEGRATIONS__…``).

Every counterpart defaults to its sandbox so that ihos runs and is tested offline. A sandbox is a
fake counterpart that speaks the real wire protocol: in sandbox mode the real client runs against it,
so switching to live changes only the address and the credentials. See docs/operator/integrations.md.

``ihos.config`` imports this module at start-up: it imports only the counterparts' settings modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

# Each payment and hospital counterpart keeps its settings beside its code; those modules import only
# pydantic, so this module (imported by ihos.config at start-up) stays free of import cycles.
from ihos.integrations.his.settings import HisSettings
from ihos.integrations.payment.alipay.settings import AlipayPaySettings
from ihos.integrations.payment.insurance.settings import InsuranceSettings
from ihos.integrations.payment.unionpay.settings import UnionPaySettings
from ihos.integrations.payment.wechat.settings import WeChatPaySettings
from ihos.integrations.pricing.settings import PricingSettings

# ---------------------------------------------------------------- SMS (短信平台)


class AliyunSmsSettings(BaseModel):
    """Aliyun SMS (dysmsapi ``SendSms``). The template codes come from the Aliyun console."""

    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")
    region_id: str = "cn-hangzhou"
    # The registered signature (签名), without brackets. Empty: the templates' own, "ihos互联网医院".
    sign_name: str = ""
    # ihos template name → Aliyun template code, e.g. {"verification_code": "SMS_123456789"}.
    template_codes: dict[str, str] = Field(default_factory=dict)


class SmsSandboxSettings(BaseModel):
    """The sandbox gateway: keeps every message in an inbox table and limits like a carrier."""

    # none | unavailable (HTTP 503) | timeout | reject (isv.OUT_OF_SERVICE, not retryable)
    failure_mode: Literal["none", "unavailable", "timeout", "reject"] = "none"
    # Aliyun's default flow control for verification messages to one number (验证码类).
    verification_per_minute: int = 1
    verification_per_hour: int = 5
    verification_per_day: int = 10
    # Notices (通知类) to one number per natural day.
    notice_per_day: int = 50


class SmsSettings(BaseModel):
    provider: Literal["sandbox", "aliyun"] = "sandbox"
    timeout_seconds: float = 5.0
    aliyun: AliyunSmsSettings = Field(default_factory=AliyunSmsSettings)
    sandbox: SmsSandboxSettings = Field(default_factory=SmsSandboxSettings)


# ---------------------------------------------------------------- WeChat mini-program (微信小程序)


class WeChatSandboxSettings(BaseModel):
    # none | busy (errcode -1) | frequency_limit (45011) | timeout
    failure_mode: Literal["none", "busy", "frequency_limit", "timeout"] = "none"
    # WeChat returns unionid only when the mini-program is bound to an open-platform account.
    include_unionid: bool = True
    code_ttl_seconds: int = 300


class WeChatSettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # Empty in sandbox mode: the sandbox's own app id and secret are used.
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    endpoint: str = "https://api.weixin.qq.com/sns/jscode2session"
    timeout_seconds: float = 5.0
    sandbox: WeChatSandboxSettings = Field(default_factory=WeChatSandboxSettings)


# ---------------------------------------------------------------- Alipay (支付宝登录)


class AlipaySandboxSettings(BaseModel):
    # none | unavailable (20000 isp.unknow-error) | timeout
    failure_mode: Literal["none", "unavailable", "timeout"] = "none"
    # Alipay keeps an unused auth_code for 3 minutes to 24 hours; the sandbox uses the minimum.
    code_ttl_seconds: int = 180


class AlipaySettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # Empty in sandbox mode: the sandbox's own app id is used.
    app_id: str = ""
    gateway: str = "https://openapi.alipay.com/gateway.do"
    # RSA2 keys: PEM, or the bare base64 that Alipay's key tool prints. A ``*_path`` wins over the value.
    # Without an app key in sandbox mode, a key pair is generated per process.
    app_private_key: SecretStr = SecretStr("")
    app_private_key_path: Path | None = None
    # The app public key as uploaded to Alipay; only the sandbox reads it (derived from the private
    # key when empty).
    app_public_key: str = ""
    # Alipay's public key (支付宝公钥), verifies every response. Unused in sandbox mode.
    alipay_public_key: str = ""
    alipay_public_key_path: Path | None = None
    timeout_seconds: float = 5.0
    sandbox: AlipaySandboxSettings = Field(default_factory=AlipaySandboxSettings)


# ---------------------------------------------------------------- real-name check (实名认证)


class IdentitySandboxSettings(BaseModel):
    # none | unavailable (HTTP 503) | timeout, for every request (the registry also has numbers that
    # always fail, see docs/operator/integrations.md)
    failure_mode: Literal["none", "unavailable", "timeout"] = "none"


class IdentitySettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # The provider's verification URL, e.g. https://idv.example.cn/v1/identity/verify
    endpoint: str = ""
    app_id: str = ""
    secret: SecretStr = SecretStr("")
    timeout_seconds: float = 5.0
    sandbox: IdentitySandboxSettings = Field(default_factory=IdentitySandboxSettings)


# The intranet's priority interface (院内优先级, QU-04): which patients the queue serves first. Only the
# level crosses it, never the reason (SY-01). Defaults run the sandbox intranet.
class PrioritySandboxSettings(BaseModel):
    """The sandbox intranet (院内优先级沙箱): who is served first, by age; the rest is its registry."""

    # none | unavailable (HTTP 503) | timeout
    failure_mode: Literal["none", "unavailable", "timeout"] = "none"
    senior_age: int = Field(default=65, ge=0)
    senior_level: int = Field(default=1, ge=0, le=9)


class PrioritySettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # The intranet's priority URL, e.g. https://intranet.hospital.internal/v1/priority
    endpoint: str = ""
    app_id: str = ""
    secret: SecretStr = SecretStr("")
    timeout_seconds: float = 3.0
    sandbox: PrioritySandboxSettings = Field(default_factory=PrioritySandboxSettings)


class IntegrationSettings(BaseModel):
    sms: SmsSettings = Field(default_factory=SmsSettings)
    wechat: WeChatSettings = Field(default_factory=WeChatSettings)
    alipay: AlipaySettings = Field(default_factory=AlipaySettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    wechat_pay: WeChatPaySettings = Field(default_factory=WeChatPaySettings)
    alipay_pay: AlipayPaySettings = Field(default_factory=AlipayPaySettings)
    unionpay: UnionPaySettings = Field(default_factory=UnionPaySettings)
    insurance: InsuranceSettings = Field(default_factory=InsuranceSettings)
    his: HisSettings = Field(default_factory=HisSettings)
    pricing: PricingSettings = Field(default_factory=PricingSettings)
    priority: PrioritySettings = Field(default_factory=PrioritySettings)
