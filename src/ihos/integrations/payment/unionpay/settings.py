"""Settings of the UnionPay channel (银联全渠道支付): ``UnionPaySettings``.

Not yet part of ``IntegrationSettings``; until it is, callers hand the settings to
``unionpay_channel(session, settings)`` (the defaults are the sandbox's). See
docs/operator/payments-alipay-unionpay.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

# none | unavailable (HTTP 503) | timeout | busy (respCode 06 系统繁忙)
UnionPayFailureMode = Literal["none", "unavailable", "timeout", "busy"]


class UnionPaySandboxSettings(BaseModel):
    """The fake UnionPay gateway (银联沙箱). ``control`` in the sandbox module wins over these at run time."""

    failure_mode: UnionPayFailureMode = "none"
    notification_delay_seconds: int = Field(default=0, ge=0)


class UnionPaySettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # 商户代码 merId (15 digits). Empty in sandbox mode: the sandbox's own merchant.
    merchant_id: str = ""
    # The gateway host: frontTransReq.do, appTransReq.do, backTransReq.do and queryTrans.do live under
    # /gateway/api/. UnionPay's test environment is https://gateway.test.95516.com.
    gateway: str = "https://gateway.95516.com"
    # File transfer (对账文件); test environment https://filedownload.test.95516.com/.
    file_gateway: str = "https://filedownload.95516.com/"
    # The merchant signing certificate (签名证书) as UnionPay issues it: a .pfx file and its password…
    signing_certificate_path: Path | None = None
    signing_certificate_password: SecretStr = SecretStr("")
    # …or the private key (PEM, value or path) with the certificate's serial number (certId).
    signing_key: SecretStr = SecretStr("")
    signing_key_path: Path | None = None
    signing_cert_id: str = ""
    # UnionPay's root and intermediate certificates (acp_prod_root.cer, acp_prod_middle.cer; PEM, value or
    # path): the signing certificate sent with every answer and notification must chain to them.
    root_certificate: str = ""
    root_certificate_path: Path | None = None
    middle_certificate: str = ""
    middle_certificate_path: Path | None = None
    # The signing certificate must name 中国银联股份有限公司 (UnionPay's SDK: acpsdk.ifValidateCNName).
    # UnionPay's test environment signs with "00040000:SIGN"; turn this off only there.
    check_certificate_name: bool = True
    # H5: where UnionPay's cashier sends the patient back (frontUrl). Empty: UnionPay's own result page.
    front_return_url: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0)
    # How old a notification may be, by its txnTime (the order's or refund's submission time): payment can
    # come until payTimeout, and UnionPay resends unacknowledged notifications for a while after.
    notification_max_age_seconds: int = Field(default=2 * 24 * 3600, gt=0)
    notification_clock_skew_seconds: int = Field(default=300, ge=0)
    sandbox: UnionPaySandboxSettings = Field(default_factory=UnionPaySandboxSettings)
