"""Alipay OpenAPI signatures (RSA2 = SHA256withRSA, PKCS#1 v1.5), per Alipay's public gateway docs.

Request: every parameter except ``sign`` and those with empty values, sorted by name, joined as
``k=v&k=v`` with raw (unencoded) values, signed with the app private key; ``sign`` is base64.

Response: ``{"<method with . replaced by _>_response": {...}, "sign": "..."}`` (or ``error_response``);
the signature covers the exact text of the response node as sent, so the node is cut out of the raw
body, never re-serialised.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class AlipayKeyError(ValueError):
    """A configured key could not be read."""


# Cached: the factories read the configured keys on every use, and parsing checks the RSA key.
@lru_cache(maxsize=16)
def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """PEM, or the bare base64 that Alipay's key tool prints (PKCS#8 or PKCS#1)."""
    data = text.strip().encode()
    try:
        if data.startswith(b"-----"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(data, validate=True), password=None)
    except (ValueError, TypeError, binascii.Error):
        raise AlipayKeyError("the RSA private key cannot be read (PEM or base64 DER expected)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AlipayKeyError("the private key is not an RSA key")
    return key


@lru_cache(maxsize=16)
def load_public_key(text: str) -> rsa.RSAPublicKey:
    """PEM, or bare base64 (X.509 SubjectPublicKeyInfo, as Alipay shows its public key)."""
    data = text.strip().encode()
    try:
        if data.startswith(b"-----"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(base64.b64decode(data, validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise AlipayKeyError("the RSA public key cannot be read (PEM or base64 DER expected)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise AlipayKeyError("the public key is not an RSA key")
    return key


def public_key_text(key: rsa.RSAPublicKey) -> str:
    """The bare base64 form Alipay's console shows and accepts."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def signing_string(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{key}={value}" for key, value in sorted(params.items()) if key != "sign" and value != ""
    )


def sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    signature = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def top_level_texts(raw: str) -> dict[str, str]:
    """The exact source text of each member of the top-level JSON object in ``raw``.

    Alipay signs the response node as it wrote it (key order, spacing, escapes), so verification
    must use those bytes; a scanner over the JSON grammar finds them even when strings in the node
    contain braces. Raises ``ValueError`` if ``raw`` is not a JSON object.
    """
    decoder = json.JSONDecoder()
    position = _skip_space(raw, 0)
    if raw[position : position + 1] != "{":
        raise ValueError("not a JSON object")
    members: dict[str, str] = {}
    position = _skip_space(raw, position + 1)
    if raw[position : position + 1] == "}":
        return members
    while True:
        key, position = decoder.raw_decode(raw, position)
        position = _skip_space(raw, position)
        if not isinstance(key, str) or raw[position : position + 1] != ":":
            raise ValueError("malformed JSON object")
        start = _skip_space(raw, position + 1)
        _, end = decoder.raw_decode(raw, start)
        members[key] = raw[start:end]
        position = _skip_space(raw, end)
        separator = raw[position : position + 1]
        position = _skip_space(raw, position + 1)
        if separator == "}":
            return members
        if separator != ",":
            raise ValueError("malformed JSON object")


def _skip_space(raw: str, position: int) -> int:
    while position < len(raw) and raw[position] in " \t\r\n":
        position += 1
    return position
