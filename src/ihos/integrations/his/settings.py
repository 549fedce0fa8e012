"""Settings of the HIS payment interface (``IHOS_INTEGRATIONS__HIS__…`` once ``IntegrationSettings``
carries them). Defaults run the sandbox HIS; docs/operator/payments-insurance-his.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

HisFailureMode = Literal["none", "unavailable", "timeout", "lost_answer"]


class HisSandboxSettings(BaseModel):
    """The sandbox HIS (HIS 沙箱)."""

    # none | unavailable (HTTP 503 on every call) | timeout (no answer, nothing done) | lost_answer (a
    # write-back is recorded, then the answer is lost: the caller sees a timeout)
    failure_mode: HisFailureMode = "none"
    # The first N write-backs (charges and refunds) after start-up fail with 503 busy before the HIS
    # accepts them: the retries of the outbox at work.
    failing_write_backs: int = Field(default=0, ge=0)


class HisSettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # The HIS interface's base URL (the operation paths are appended), e.g. https://his.hospital.internal/ihos/v1
    endpoint: str = ""
    app_id: str = ""
    secret: SecretStr = SecretStr("")
    timeout_seconds: float = 10.0
    sandbox: HisSandboxSettings = Field(default_factory=HisSandboxSettings)
