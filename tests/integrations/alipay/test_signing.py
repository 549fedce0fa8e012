"""Alipay RSA2 signatures and the exact-text extraction of the signed response node."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from ihos.integrations.alipay import signing
from ihos.integrations.alipay.sandbox import generated_key
from ihos.integrations.alipay.signing import AlipayKeyError


class TestSigningString:
    def test_sorted_without_sign_and_empty_values_with_raw_values(self):
        params = {
            "timestamp": "2026-11-27 20:00:00",
            "sign": "ignored",
            "app_id": "2021",
            "app_auth_token": "",
            "biz_content": '{"a":"b c"}',
            "charset": "utf-8",
        }
        assert signing.signing_string(params) == (
            'app_id=2021&biz_content={"a":"b c"}&charset=utf-8&timestamp=2026-11-27 20:00:00'
        )


class TestSignVerify:
    def test_sign_is_sha256_with_rsa_pkcs1(self):
        key = generated_key("app")
        signature = signing.sign(key, "a=1&b=中文")
        # Checked with cryptography directly, not through ``signing.verify``.
        key.public_key().verify(
            base64.b64decode(signature), "a=1&b=中文".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        assert signing.verify(key.public_key(), "a=1&b=中文", signature)

    def test_altered_content_or_signature_or_key_fails(self):
        key = generated_key("app")
        signature = signing.sign(key, "a=1")
        assert not signing.verify(key.public_key(), "a=2", signature)
        assert not signing.verify(generated_key("alipay").public_key(), "a=1", signature)
        assert not signing.verify(key.public_key(), "a=1", "not base64!")
        assert not signing.verify(key.public_key(), "a=1", base64.b64encode(b"short").decode())


class TestKeys:
    def test_pem_and_alipay_tool_base64_formats(self):
        key = generated_key("app")
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pkcs1 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        expected = key.private_numbers()
        for text in (base64.b64encode(pkcs8).decode(), base64.b64encode(pkcs1).decode(), pem.decode()):
            assert signing.load_private_key(text).private_numbers() == expected

        public = key.public_key()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for text in (signing.public_key_text(public), public_pem.decode()):
            assert signing.load_public_key(text).public_numbers() == public.public_numbers()

    @pytest.mark.parametrize("text", ["", "not a key", base64.b64encode(b"garbage").decode()])
    def test_unreadable_keys(self, text):
        with pytest.raises(AlipayKeyError):
            signing.load_private_key(text)
        with pytest.raises(AlipayKeyError):
            signing.load_public_key(text)


class TestTopLevelTexts:
    def test_exact_text_of_each_member(self):
        node = '{ "msg" : "a}b{\\"c", "n":[1,{"x":2}] ,"u":"\\u4e2d\\/"}'
        raw = f'{{"alipay_x_response":{node} , "sign":"abc"}}'
        members = signing.top_level_texts(raw)
        assert members == {"alipay_x_response": node, "sign": '"abc"'}
        assert json.loads(members["alipay_x_response"])["msg"] == 'a}b{"c'

    def test_whitespace_around(self):
        assert signing.top_level_texts(' \n{ "a" : 1 }\n') == {"a": "1"}
        assert signing.top_level_texts("{}") == {}

    @pytest.mark.parametrize("raw", ["", "[1]", '{"a" 1}', '{"a":1 "b":2}', '{"a":', "{1:2}", "<html>"])
    def test_malformed(self, raw):
        with pytest.raises(ValueError):
            signing.top_level_texts(raw)
