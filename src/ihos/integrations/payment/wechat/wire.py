"""What both ends of WeChat Pay API v3 agree on: the signature scheme, the AEAD resource encryption,
the time format, the error codes and their HTTP statuses.

Signatures (WECHATPAY2-SHA256-RSA2048) are SHA256withRSA over lines each ended by ``\\n``:
requests sign ``method, path?query, timestamp, nonce, body``; answers and notifications sign
``timestamp, nonce, body``. Notification resources are AES-256-GCM with the 32-byte APIv3 key.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
AEAD_ALGORITHM = "AEAD_AES_256_GCM"
# WeChat Pay reads and writes times in Beijing time whatever the hospital's zone, and cuts its
# statements at Beijing midnight.
WECHAT_ZONE = ZoneInfo("Asia/Shanghai")
APIV3_KEY_LENGTH = 32

# WeChat Pay's error codes that a caller may retry unchanged; every other code is a refusal.
RETRYABLE_CODES = frozenset({"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "STATEMENT_CREATING"})
# The HTTP status WeChat Pay answers each error code with (400 when not listed).
ERROR_STATUS = {
    "SIGN_ERROR": 401,
    "NO_AUTH": 403,
    "NOT_ENOUGH": 403,
    "OUT_TRADE_NO_USED": 403,
    "ORDER_NOT_EXIST": 404,
    "RESOURCE_NOT_EXISTS": 404,
    "NOT_FOUND": 404,
    "FREQUENCY_LIMITED": 429,
    "SYSTEM_ERROR": 500,
    "BANK_ERROR": 500,
}
ERROR_MESSAGES = {
    "SYSTEM_ERROR": "系统错误",
    "FREQUENCY_LIMITED": "频率超限",
    "NOT_ENOUGH": "基本账户余额不足，请充值后重新发起",
    "NO_AUTH": "商户无权限",
    "BANK_ERROR": "银行系统异常",
}

_NONCE_ALPHABET = string.ascii_uppercase + string.digits


class WeChatPayKeyError(ValueError):
    """A configured key, key id or APIv3 key cannot be used."""


def error_status(code: str) -> int:
    return ERROR_STATUS.get(code, 400)


def random_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def signed_message(*lines: str | bytes) -> bytes:
    """The lines, each followed by a newline, as WeChat Pay signs them."""
    return b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def encrypt_resource(apiv3_key: str, *, nonce: str, plaintext: bytes, associated_data: str) -> str:
    cipher = AESGCM(apiv3_key.encode())
    return base64.b64encode(cipher.encrypt(nonce.encode(), plaintext, associated_data.encode())).decode()


def decrypt_resource(apiv3_key: str, *, nonce: str, ciphertext: str, associated_data: str) -> bytes:
    """Raises ``ValueError`` when the key is wrong or anything was altered."""
    try:
        cipher = AESGCM(apiv3_key.encode())
        return cipher.decrypt(
            nonce.encode(), base64.b64decode(ciphertext, validate=True), associated_data.encode()
        )
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise ValueError("the resource does not decrypt with this APIv3 key") from exc


def check_apiv3_key(value: str) -> str:
    if len(value.encode()) != APIV3_KEY_LENGTH:
        raise WeChatPayKeyError("the APIv3 key must be 32 bytes")
    return value


def format_time(value: datetime) -> str:
    """RFC 3339 in Beijing time, as WeChat Pay writes it: ``2026-11-27T10:34:56+08:00``."""
    return value.astimezone(WECHAT_ZONE).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return value.astimezone(UTC)


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1) or the bare base64 of PKCS#8 DER."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise WeChatPayKeyError("the merchant private key cannot be read") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise WeChatPayKeyError("the merchant private key is not an RSA key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM or the bare base64 of its SubjectPublicKeyInfo DER."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise WeChatPayKeyError("the WeChat Pay public key cannot be read") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise WeChatPayKeyError("the WeChat Pay public key is not an RSA key")
    return key


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
