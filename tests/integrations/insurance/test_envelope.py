"""The national envelope: SM4 data key, what is signed, SM2 signatures checked both ways, and tampering
refused."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ihos.integrations.payment.insurance import envelope
from ihos.integrations.payment.insurance.envelope import EnvelopeError, Party
from ihos.integrations.payment.insurance.sandbox import hospital_party, platform_party
from ihos.security.gm import SM2PrivateKey

DATA = {
    "medOrgOrd": "IH202611270001",
    "userName": "张伟",
    "medfeeSumamt": "12.34",
    "empty": "",
    "nested": {"b": 2, "a": 1},
}


def sealed(data=DATA, **outer):  # type: ignore[no-untyped-def]
    return envelope.seal(hospital_party(), data, timestamp="20261127120000", outer=outer or None)


class TestSeal:
    def test_it_works(self):
        message = sealed()

        assert set(message) == {"appId", "encType", "signType", "version", "timestamp", "encData", "signData"}
        assert (message["encType"], message["signType"], message["version"]) == ("SM4", "SM2", "2.0.1")
        assert message["encData"] == message["encData"].upper()
        assert len(base64.b64decode(message["signData"])) == 64  # r||s, not DER
        assert "张伟" not in json.dumps(message, ensure_ascii=False)
        opened = envelope.open_envelope(platform_party(), message)
        assert opened == {
            "medOrgOrd": "IH202611270001",
            "userName": "张伟",
            "medfeeSumamt": "12.34",
            "nested": {"a": 1, "b": 2},
        }

    def test_the_data_key_is_sm4_of_the_secret_under_the_app_id(self):
        app_id, secret = "0123456789ABCDEFGHIJ", "app-secret"
        padder = padding.PKCS7(128).padder()
        block = padder.update(secret.encode()) + padder.finalize()
        encryptor = Cipher(algorithms.SM4(app_id[:16].encode()), modes.ECB()).encryptor()  # noqa: S305
        expected = (encryptor.update(block) + encryptor.finalize()).hex().upper()[:16].encode()

        assert envelope.data_key(app_id, secret) == expected
        assert len(envelope.data_key(app_id, secret)) == 16

    def test_a_short_app_id_cannot_derive_a_key(self):
        with pytest.raises(ValueError, match="16"):
            envelope.data_key("short", "secret")

    def test_what_is_signed(self):
        fields = {
            "version": "2.0.1",
            "appId": "APP",
            "data": {"z": "中文", "a": [{"y": "", "x": "1"}], "empty": {}},
            "signData": "ignored",
            "encData": "ignored",
            "extra": "ignored",
            "blank": "",
            "none": None,
            "code": 0,
            "success": True,
        }

        text = envelope.sign_text(fields, "SECRET")

        assert (
            text == 'appId=APP&code=0&data={"a":[{"x":"1"}],"z":"中文"}&success=true&version=2.0.1&key=SECRET'
        )


class TestOpen:
    @pytest.mark.parametrize(
        "tamper",
        [
            lambda m: m.update(timestamp="20261127120001"),
            lambda m: m.update(appId=m["appId"][:-1] + "2"),
            lambda m: m.update(signData=base64.b64encode(b"\x01" * 64).decode()),
            lambda m: m.update(encData=sealed({"medOrgOrd": "OTHER"})["encData"]),
            lambda m: m.update(code=1),
        ],
        ids=["timestamp", "app id", "signature", "data swapped", "field added"],
    )
    def test_tampering_is_refused(self, tamper):
        message = sealed()
        tamper(message)

        with pytest.raises(EnvelopeError):
            envelope.open_envelope(platform_party(), message)

    def test_a_signature_by_another_key_is_refused_both_ways(self):
        stranger = SM2PrivateKey.generate()
        forged_hospital = Party(
            app_id=hospital_party().app_id,
            app_secret=hospital_party().app_secret,
            signing_key=stranger,
            peer_key=hospital_party().peer_key,
        )
        with pytest.raises(EnvelopeError, match="signature"):
            envelope.open_envelope(
                platform_party(), envelope.seal(forged_hospital, DATA, timestamp="20261127120000")
            )

        forged_platform = Party(
            app_id=platform_party().app_id,
            app_secret=platform_party().app_secret,
            signing_key=stranger,
            peer_key=platform_party().peer_key,
        )
        with pytest.raises(EnvelopeError, match="signature"):
            envelope.open_envelope(
                hospital_party(), envelope.seal(forged_platform, DATA, timestamp="20261127120000")
            )

    def test_garbage_is_refused(self):
        message = sealed()
        for broken in (
            {**message, "signData": ""},
            {**message, "encData": "XYZ"},
            {**message, "encData": "00" * 16},
        ):
            with pytest.raises(EnvelopeError):
                envelope.open_envelope(platform_party(), broken)

    def test_a_plaintext_copy_beside_the_ciphertext_is_not_believed(self):
        message = {**sealed(), "data": {"medOrgOrd": "FORGED"}}

        assert envelope.open_envelope(platform_party(), message)["medOrgOrd"] == "IH202611270001"

    def test_an_envelope_without_data(self):
        message = envelope.seal(
            platform_party(), None, timestamp="20261127120000", outer={"code": 3001, "message": "未参保"}
        )

        assert "encData" not in message
        assert envelope.open_envelope(hospital_party(), message) is None
        message["message"] = "其他"
        with pytest.raises(EnvelopeError):
            envelope.open_envelope(hospital_party(), message)


class TestAmountsAndKeys:
    @pytest.mark.parametrize(("text", "fen"), [("12.30", 1230), ("0", 0), ("7.5", 750), (" 1.01 ", 101)])
    def test_yuan_to_fen(self, text, fen):
        assert envelope.fen(text) == fen

    @pytest.mark.parametrize("text", ["12.345", "-1.00", "abc", None, True, 1.5])
    def test_malformed_amounts_are_refused(self, text):
        with pytest.raises(ValueError):
            envelope.fen(text)

    def test_keys_in_every_form_the_bureau_hands_out(self):
        key = SM2PrivateKey.generate()
        public = key.public_key()
        raw = bytes.fromhex(key.to_hex())
        for text in (key.to_hex(), base64.b64encode(raw).decode(), key.to_pem()):
            assert envelope.load_private_key(text).public_key() == public
        for text in (
            public.to_hex(),
            public.to_hex()[2:],
            base64.b64encode(public.to_bytes()).decode(),
            public.to_pem(),
        ):
            assert envelope.load_public_key(text) == public
