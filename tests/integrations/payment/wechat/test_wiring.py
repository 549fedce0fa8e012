"""How the channel is put together: the factory per provider, the settings, and the SDK seam."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import threading

import pytest
from wechatpayv3.core import Core

from ihos.integrations.payment.wechat import (
    WeChatPayChannel,
    WeChatPayKeyError,
    WeChatPaySettings,
    merchant_config,
    simulate_payment,
    wechat_pay_channel,
    wire,
)
from ihos.integrations.payment.wechat.channel import SDK_REQUEST_DIGEST, LiveWeChatPay
from ihos.integrations.payment.wechat.sandbox import (
    SANDBOX_APIV3_KEY,
    SANDBOX_MCHID,
    WeChatPaySandbox,
    generated_key,
)
from tests.integrations.payment.wechat.helpers import prepay_request

MERCHANT_KEY = generated_key("live-merchant")
PLATFORM_KEY = generated_key("live-platform")


def live_settings(**changes: object) -> WeChatPaySettings:
    values: dict[str, object] = {
        "provider": "live",
        "mchid": "1230000109",
        "appid": "wxd678efh567hg6787",
        "merchant_private_key": wire.private_key_pem(MERCHANT_KEY),
        "merchant_certificate_serial": "444F4864EA9B34415A1B2C3D4E5F60718293A4B5",
        "apiv3_key": "a12d3924fd499edac8a5efc1a2b3c4d5",
        "wechatpay_public_key": wire.public_key_pem(PLATFORM_KEY.public_key()),
        "wechatpay_public_key_id": "PUB_KEY_ID_0112300001092026112700000000000",
    }
    values.update(changes)
    return WeChatPaySettings.model_validate(values)


class TestFactory:
    async def test_sandbox_by_default(self, session):
        channel = wechat_pay_channel(session, WeChatPaySettings())

        assert isinstance(channel, WeChatPayChannel)
        assert channel.name == "wechat"
        assert isinstance(channel.counterpart, WeChatPaySandbox)
        assert channel.config.mchid == SANDBOX_MCHID
        assert channel.config.apiv3_key == SANDBOX_APIV3_KEY

    async def test_sandbox_end_to_end(self, session, settings):
        request = prepay_request()
        channel = wechat_pay_channel(session, settings)
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number, settings=settings)

        assert (await channel.query_payment(request.order_number)).state == "paid"

    async def test_the_sandbox_takes_the_configured_merchant(self, session):
        settings = WeChatPaySettings(mchid="1230000109", appid="wxd678efh567hg6787")
        channel = wechat_pay_channel(session, settings)
        prepay = await channel.create_prepay(prepay_request())

        assert prepay.params["appId"] == "wxd678efh567hg6787"

    async def test_live(self, session):
        channel = wechat_pay_channel(session, live_settings())

        assert isinstance(channel, WeChatPayChannel)
        assert channel.counterpart == LiveWeChatPay(
            platform=channel.counterpart.platform, gateway="https://api.mch.weixin.qq.com"
        )
        assert channel.counterpart.platform.key_id == "PUB_KEY_ID_0112300001092026112700000000000"
        assert channel.config.mchid == "1230000109"

    @pytest.mark.parametrize(
        ("missing", "name"),
        [
            ("mchid", "MCHID"),
            ("merchant_private_key", "MERCHANT_PRIVATE_KEY"),
            ("merchant_certificate_serial", "MERCHANT_CERTIFICATE_SERIAL"),
            ("apiv3_key", "APIV3_KEY"),
            ("wechatpay_public_key", "WECHATPAY_PUBLIC_KEY"),
            ("wechatpay_public_key_id", "WECHATPAY_PUBLIC_KEY_ID"),
        ],
    )
    async def test_live_names_what_is_missing(self, session, missing, name):
        with pytest.raises(WeChatPayKeyError) as error:
            wechat_pay_channel(session, live_settings(**{missing: ""}))

        assert f"IHOS_INTEGRATIONS__WECHAT_PAY__{name}" in str(error.value)

    async def test_an_apiv3_key_of_the_wrong_length(self, session):
        with pytest.raises(WeChatPayKeyError):
            wechat_pay_channel(session, live_settings(apiv3_key="short"))

    def test_keys_from_files_and_in_bare_base64(self, tmp_path):
        pem = wire.private_key_pem(MERCHANT_KEY)
        path = tmp_path / "apiclient_key.pem"
        path.write_text(pem)
        bare = "".join(pem.strip().splitlines()[1:-1])

        from_file = merchant_config(live_settings(merchant_private_key="", merchant_private_key_path=path))
        from_bare = merchant_config(live_settings(merchant_private_key=bare))
        numbers = MERCHANT_KEY.private_numbers()
        assert from_file.private_key.private_numbers() == numbers
        assert from_bare.private_key.private_numbers() == numbers

    def test_an_unreadable_key(self):
        with pytest.raises(WeChatPayKeyError):
            merchant_config(live_settings(merchant_private_key="not a key"))

    def test_secrets_do_not_print(self):
        shown = repr(live_settings()) + repr(merchant_config(live_settings()))

        assert "a12d3924fd499edac8a5efc1a2b3c4d5" not in shown
        assert "PRIVATE KEY" not in shown


class TestImports:
    def test_the_settings_import_without_the_rest(self):
        """``ihos.integrations.settings`` will import the settings while it is itself half
        imported: nothing that imports it back may come along."""
        script = (
            "import sys, types\n"
            "import ihos.integrations\n"
            "sys.modules['ihos.integrations.settings'] = types.ModuleType('ihos.integrations.settings')\n"
            "from ihos.integrations.payment.wechat.settings import WeChatPaySettings\n"
            "heavy = [m for m in sys.modules if m.startswith(('wechatpayv3', 'ihos.models', 'sqlalchemy'))]\n"
            "assert not heavy, heavy\n"
        )
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)  # noqa: S603 - our own script


class TestSdkSeam:
    def test_the_copied_request_matches_the_installed_sdk(self):
        """``_SdkCore.request`` mirrors the SDK's; when an upgrade changes the SDK's, review the copy
        and update ``SDK_REQUEST_DIGEST``."""
        source = inspect.getsource(Core.request)

        assert hashlib.sha256(source.encode()).hexdigest() == SDK_REQUEST_DIGEST

    async def test_the_sdk_is_never_run_on_the_event_loop(self, session, channel):
        sdk = await channel._client()

        with pytest.raises(RuntimeError, match="worker thread"):
            sdk.query(out_trade_no="WX0000000001")

    async def test_sdk_calls_run_off_the_event_loop(self, channel, sandbox):
        threads: list[str] = []
        handle = sandbox.handle

        async def record(request):
            threads.append(threading.current_thread().name)
            return await handle(request)

        sandbox.handle = record
        from ihos.integrations.payment.wechat.sandbox import RequestsBridge

        sdk = await channel._client()
        assert isinstance(sdk._core._http.get_adapter(sandbox.gateway + "/v3"), RequestsBridge)
        await channel.create_prepay(prepay_request())
        assert threads == [threading.current_thread().name]  # the sandbox itself runs on the loop
