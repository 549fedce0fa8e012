"""Integration settings come from ``IHOS_INTEGRATIONS__…`` variables; every counterpart defaults to
its sandbox and secrets never show in a printed settings object."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ihos.config import Settings


class TestIntegrationSettings:
    def test_it_works(self, monkeypatch):
        monkeypatch.setenv("IHOS_INTEGRATIONS__SMS__PROVIDER", "aliyun")
        monkeypatch.setenv("IHOS_INTEGRATIONS__SMS__ALIYUN__ACCESS_KEY_ID", "LTAIlive")
        monkeypatch.setenv("IHOS_INTEGRATIONS__SMS__ALIYUN__ACCESS_KEY_SECRET", "aliyun-secret")
        monkeypatch.setenv("IHOS_INTEGRATIONS__SMS__ALIYUN__TEMPLATE_CODES", '{"verification_code": "SMS_1"}')
        monkeypatch.setenv("IHOS_INTEGRATIONS__SMS__SANDBOX__VERIFICATION_PER_DAY", "100")
        monkeypatch.setenv("IHOS_INTEGRATIONS__WECHAT__PROVIDER", "live")
        monkeypatch.setenv("IHOS_INTEGRATIONS__WECHAT__APP_SECRET", "wechat-secret")
        monkeypatch.setenv("IHOS_INTEGRATIONS__ALIPAY__SANDBOX__FAILURE_MODE", "timeout")
        monkeypatch.setenv("IHOS_INTEGRATIONS__IDENTITY__TIMEOUT_SECONDS", "2.5")

        integrations = Settings().integrations

        assert integrations.sms.provider == "aliyun"
        assert integrations.sms.aliyun.access_key_id == "LTAIlive"
        assert integrations.sms.aliyun.access_key_secret.get_secret_value() == "aliyun-secret"
        assert integrations.sms.aliyun.template_codes == {"verification_code": "SMS_1"}
        assert integrations.sms.sandbox.verification_per_day == 100
        assert integrations.wechat.provider == "live"
        assert integrations.alipay.sandbox.failure_mode == "timeout"
        assert integrations.identity.timeout_seconds == 2.5
        assert "aliyun-secret" not in repr(integrations)
        assert "wechat-secret" not in repr(integrations)

    def test_every_counterpart_defaults_to_its_sandbox(self, monkeypatch):
        for name in ("SMS", "WECHAT", "ALIPAY", "IDENTITY"):
            monkeypatch.delenv(f"IHOS_INTEGRATIONS__{name}__PROVIDER", raising=False)
        integrations = Settings(_env_file=None).integrations
        assert {
            integrations.sms.provider,
            integrations.wechat.provider,
            integrations.alipay.provider,
            integrations.identity.provider,
        } == {"sandbox"}

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("IHOS_INTEGRATIONS__SMS__PROVIDER", "tencent"),
            ("IHOS_INTEGRATIONS__SMS__SANDBOX__FAILURE_MODE", "sometimes"),
            ("IHOS_INTEGRATIONS__IDENTITY__PROVIDER", "aliyun"),
        ],
    )
    def test_unknown_choices_are_refused(self, monkeypatch, variable, value):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValidationError):
            Settings()
