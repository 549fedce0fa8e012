"""The national medical-insurance mobile payment wire format (医保移动支付, 国家医保信息平台 V2 §2.3):
JSON over HTTPS, the business data encrypted with SM4 and every message signed with SM2.

A request, an answer and a notification are all one envelope::

    {"appId", "encType": "SM4", "signType": "SM2", "version": "2.0.1",
     "timestamp": "yyyyMMddHHmmss" (the hospital's zone),
     "encData": upper-case hex of SM4-ECB/PKCS#7(compact JSON of the data),
     "signData": base64 of the 64-byte SM2 signature r||s}

answers add ``code`` (0: success), ``message`` and ``success``. What is signed (SM3withSM2, signer id
``1234567812345678`` unless the bureau says otherwise): every field except ``signData``, ``encData`` and
``extra``, with the plaintext ``data`` in place of ``encData``; empty values dropped; keys in ASCII
order as ``key=value`` joined with ``&``; objects and arrays as compact JSON (sorted keys, Chinese
unescaped); then ``&key=<appSecret>``. The SM4 key is derived from the channel's credentials:
SM4-ECB(key = the first 16 bytes of appId, appSecret), in upper-case hex, of which the first 16
characters, as ASCII, are the key.

Each interface has its own path under the centre's address (``PATHS``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ihos.kit.money import InvalidAmount, fen_to_yuan, yuan_to_fen
from ihos.kit.time import hospital_zone
from ihos.security.gm import (
    DEFAULT_UID,
    SM2PrivateKey,
    SM2PublicKey,
    signature_from_raw,
    signature_to_raw,
)

VERSION = "2.0.1"
ENCRYPTION = "SM4"
SIGNATURE = "SM2"
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
UNSIGNED_FIELDS = frozenset({"signData", "encData", "extra"})

# Interface number → path under the centre's address.
PATHS: dict[str, str] = {
    "6201": "/org/local/api/hos/uldFeeInfo",  # 费用明细上传
    "6202": "/org/local/api/hos/pay_order",  # 支付下单
    "6203": "/org/local/api/hos/refund_Order",  # 医保退费
    "6301": "/org/local/api/hos/query_order_info",  # 医保订单结算结果查询
    "6401": "/org/local/api/hos/revoke_order",  # 费用明细上传撤销
}


class EnvelopeError(Exception):
    """An envelope that must not be believed: unsigned, bad signature, or undecryptable data."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Party:
    """One end of the exchange: its credentials, its signing key and the other end's public key."""

    app_id: str
    app_secret: str = field(repr=False)
    signing_key: SM2PrivateKey = field(repr=False)
    peer_key: SM2PublicKey
    uid: bytes = DEFAULT_UID


# -- SM4 ------------------------------------------------------------------------------------------------


def _sm4_ecb(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    # ECB because the national interface prescribes it; ihos's own data uses SM4-GCM.
    cipher = Cipher(algorithms.SM4(key), modes.ECB())  # noqa: S305
    if encrypt:
        padder = padding.PKCS7(128).padder()
        padded = padder.update(data) + padder.finalize()
        encryptor = cipher.encryptor()
        return encryptor.update(padded) + encryptor.finalize()
    if not data or len(data) % 16:
        raise ValueError("SM4-ECB ciphertext is not a whole number of blocks")
    decryptor = cipher.decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def data_key(app_id: str, app_secret: str) -> bytes:
    """The SM4 key of the message bodies, derived from appId and appSecret."""
    seed = app_id.encode("utf-8")
    if len(seed) < 16:
        raise ValueError("the insurance appId has at least 16 characters")
    derived = _sm4_ecb(seed[:16], app_secret.encode("utf-8"), encrypt=True).hex().upper()
    return derived[:16].encode("ascii")


def encrypt_data(key: bytes, data: Mapping[str, Any]) -> str:
    return _sm4_ecb(key, compact_json(data).encode("utf-8"), encrypt=True).hex().upper()


def decrypt_data(key: bytes, text: str) -> dict[str, Any]:
    try:
        plaintext = _sm4_ecb(key, bytes.fromhex(text), encrypt=False)
        data = json.loads(plaintext.decode("utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("encData does not decrypt") from None
    if not isinstance(data, dict):
        raise EnvelopeError("encData is not a JSON object")
    return data


# -- what is signed -------------------------------------------------------------------------------------


def clean(value: Any) -> Any:
    """``value`` without None, "" and empty objects or arrays, at any depth (None if nothing is left)."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        cleaned = {key: item for key, item in ((k, clean(v)) for k, v in value.items()) if item is not None}
        return cleaned or None
    if isinstance(value, list | tuple):
        items = [item for item in (clean(v) for v in value) if item is not None]
        return items or None
    return value


def _number(value: Decimal) -> str:
    # As JavaScript prints a JSON number: 12.30 → "12.3", 100.0 → "100".
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def compact_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and unescaped Chinese, as the platform's signers write it."""
    if isinstance(value, Mapping):
        members = ",".join(
            f"{json.dumps(str(key), ensure_ascii=False)}:{compact_json(value[key])}" for key in sorted(value)
        )
        return "{" + members + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(compact_json(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot sign a {type(value).__name__}")


def _signed_value(value: Any) -> str | None:
    cleaned = clean(value)
    if cleaned is None:
        return None
    if isinstance(cleaned, str):
        return cleaned
    if isinstance(cleaned, bool):
        return "true" if cleaned else "false"
    if isinstance(cleaned, Decimal):
        return _number(cleaned)
    if isinstance(cleaned, int):
        return str(cleaned)
    return compact_json(cleaned)


def sign_text(fields: Mapping[str, Any], app_secret: str) -> str:
    parts = []
    for key in sorted(fields):
        if key in UNSIGNED_FIELDS:
            continue
        text = _signed_value(fields[key])
        if text is not None:
            parts.append(f"{key}={text}")
    return "&".join([*parts, f"key={app_secret}"])


# -- envelopes ------------------------------------------------------------------------------------------


def timestamp_of(moment: datetime) -> str:
    return moment.astimezone(hospital_zone()).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=hospital_zone())
    except (TypeError, ValueError):
        return None


def seal(
    party: Party,
    data: Mapping[str, Any] | None,
    *,
    timestamp: str,
    outer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The signed envelope of ``data`` (None: an envelope without data, e.g. a refusal); ``outer``
    adds top-level fields (an answer's ``code``, ``message``, ``success``)."""
    cleaned = clean(dict(data)) if data is not None else None
    fields: dict[str, Any] = {
        "appId": party.app_id,
        "encType": ENCRYPTION,
        "signType": SIGNATURE,
        "version": VERSION,
        "timestamp": timestamp,
        **(outer or {}),
    }
    signed = {**fields, "data": cleaned} if cleaned is not None else fields
    signature = party.signing_key.sign(sign_text(signed, party.app_secret).encode("utf-8"), uid=party.uid)
    envelope = dict(fields)
    if cleaned is not None:
        envelope["encData"] = encrypt_data(data_key(party.app_id, party.app_secret), cleaned)
    envelope["signData"] = base64.b64encode(signature_to_raw(signature)).decode("ascii")
    return envelope


def open_envelope(party: Party, envelope: Mapping[str, Any]) -> dict[str, Any] | None:
    """The data of an envelope signed by the other end (None when it carries none), or
    ``EnvelopeError`` when it is unsigned, the signature does not check out or encData does not
    decrypt. The caller checks ``appId`` and the timestamp."""
    signature = envelope.get("signData")
    if not isinstance(signature, str) or not signature:
        raise EnvelopeError("unsigned")
    encrypted = envelope.get("encData")
    data: dict[str, Any] | None = None
    if encrypted not in (None, ""):
        if not isinstance(encrypted, str):
            raise EnvelopeError("encData is not text")
        data = decrypt_data(data_key(party.app_id, party.app_secret), encrypted)
    signed = {key: value for key, value in envelope.items() if key not in UNSIGNED_FIELDS}
    signed.pop("data", None)  # a plaintext copy beside encData is never believed
    if data is not None:
        signed["data"] = data
    try:
        der = signature_from_raw(base64.b64decode(signature, validate=True))
    except (ValueError, binascii.Error):
        raise EnvelopeError("signData is not a 64-byte SM2 signature") from None
    message = sign_text(signed, party.app_secret).encode("utf-8")
    if not party.peer_key.verify(der, message, uid=party.uid):
        raise EnvelopeError("signature does not match")
    return data


# -- amounts --------------------------------------------------------------------------------------------


def yuan(fen: int) -> str:
    """Fen → the interface's yuan text with two decimals."""
    return fen_to_yuan(fen)


def fen(value: Any) -> int:
    """The interface's yuan (text, or a number parsed as Decimal) → fen; ValueError if malformed."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = yuan_to_fen(value.strip() if isinstance(value, str) else value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None
    if amount < 0:
        raise ValueError(f"negative amount: {value!r}")
    return amount


# -- keys -----------------------------------------------------------------------------------------------


def load_private_key(text: str) -> SM2PrivateKey:
    """An SM2 private key as bureaus hand them out: PEM, 64 hex digits, or base64 of the 32 bytes."""
    text = text.strip()
    if "-----BEGIN" in text:
        return SM2PrivateKey.from_pem(text)
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return SM2PrivateKey.from_hex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not an SM2 private key (PEM, hex or base64)") from None
    return SM2PrivateKey(raw)


def load_public_key(text: str) -> SM2PublicKey:
    """An SM2 public key: PEM, hex (04||x||y or x||y), or base64 of those bytes."""
    text = text.strip()
    if "-----BEGIN" in text:
        return SM2PublicKey.from_pem(text)
    if len(text) in (128, 130) and all(c in "0123456789abcdefABCDEF" for c in text):
        return SM2PublicKey.from_hex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not an SM2 public key (PEM, hex or base64)") from None
    return SM2PublicKey.from_bytes(raw)
