"""Settings of the medical-insurance mobile payment channel (``IHOS_INTEGRATIONS__INSURANCE__…`` once
``IntegrationSettings`` carries them). Defaults run the sandbox; docs/operator/payments-insurance-his.md."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

InsuranceFailureMode = Literal["none", "unavailable", "timeout", "lost_answer"]


class InsuranceSandboxSettings(BaseModel):
    """The sandbox insurance platform (医保移动支付沙箱)."""

    # none | unavailable (HTTP 503) | timeout (no answer, nothing done) | lost_answer (6201, 6202, 6203
    # and 6401 act, then the answer is lost: the caller sees a timeout; queries are answered)
    failure_mode: InsuranceFailureMode = "none"
    # Seconds between the patient's confirmation and the settlement notification.
    notification_delay_seconds: int = Field(default=0, ge=0)
    # Copies of every notification (2 or more: duplicates, as the platform resends).
    notification_copies: int = Field(default=1, ge=1, le=5)
    # Refuse a fee upload (6201) without the patient's authorisation (payAuthNo), as live centres do for
    # online payment. Off by default: the patient app does not obtain one yet (see the operator guide).
    # A payAuthNo that is sent is always checked, whatever this says.
    require_authorisation: bool = False


class InsuranceSettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # The mobile payment centre's base URL (医保移动支付中心); the interface paths are appended.
    endpoint: str = ""
    # 渠道 appId and appSecret from the insurance bureau: the secret is appended to what is signed and
    # derives the SM4 key of the message bodies.
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    # The hospital's SM2 private key (64 hex digits, base64 of the 32 bytes, or PEM); a path wins.
    private_key: SecretStr = SecretStr("")
    private_key_path: Path | None = None
    # The centre's SM2 public key (hex 04||x||y, base64, or PEM): verifies answers and notifications.
    platform_public_key: str = ""
    # SM2 signer id (GM/T 0009 default unless the bureau says otherwise).
    sm2_user_id: str = "1234567812345678"
    # 定点医药机构编码 and name, as registered with the bureau.
    org_code: str = ""
    org_name: str = ""
    # Optional path of a statement download; most centres have none (reconcile through the HIS).
    statement_path: str = ""
    timeout_seconds: float = 10.0
    sandbox: InsuranceSandboxSettings = Field(default_factory=InsuranceSandboxSettings)
