"""Personal data at rest: SM4-GCM encrypted columns and HMAC-SM3 blind indexes to look them up.

A token reads ``v1.<key id>.<base64url(nonce || ciphertext || tag)>``; ``v1.<key id>`` is the AAD, so a
token cannot be relabelled with another key id. Equality lookups go through ``blind_index`` columns:
the ciphertext is different every time, so it can never be compared in SQL.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from ihos.security.gm import GCM_NONCE_SIZE, IntegrityError, hmac_sm3, sm4_gcm_decrypt, sm4_gcm_encrypt
from ihos.security.keys import KeyRing, get_keyring, reload_keyring_if_changed

TOKEN_VERSION = "v1"


class UnknownFieldKey(IntegrityError):
    """The token names a key id that the key file does not hold (an incomplete or wrong key file)."""


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise IntegrityError("field token is not base64url") from error
    # Only the canonical spelling: otherwise several tokens would decode to the same bytes.
    if _b64url_encode(data) != text:
        raise IntegrityError("field token is not canonical base64url")
    return data


def _aad(key_id: str) -> bytes:
    return f"{TOKEN_VERSION}.{key_id}".encode("ascii")


def encrypt_field(plaintext: str) -> str:
    """Encrypt under the current field key with a fresh nonce; the result is short ASCII."""
    keyring = get_keyring()
    key_id = keyring.current_field_key_id
    nonce = os.urandom(GCM_NONCE_SIZE)
    sealed = sm4_gcm_encrypt(keyring.field_keys[key_id], nonce, plaintext.encode("utf-8"), _aad(key_id))
    return f"{TOKEN_VERSION}.{key_id}.{_b64url_encode(nonce + sealed)}"


def _key_for(key_id: str) -> bytes:
    keyring: KeyRing = get_keyring()
    if key_id not in keyring.field_keys:
        # Another process may have rotated the file since we loaded it: look once more.
        keyring = reload_keyring_if_changed()
    try:
        return keyring.field_keys[key_id]
    except KeyError:
        raise UnknownFieldKey(f"field key {key_id!r} is not in the key file") from None


def decrypt_field(token: str) -> str:
    """Decrypt a token made under any key id still in the key file; ``IntegrityError`` if altered."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or not parts[1]:
        raise IntegrityError("not an encrypted field token")
    _, key_id, body = parts
    data = _b64url_decode(body)
    if len(data) < GCM_NONCE_SIZE:
        raise IntegrityError("field token too short")
    key = _key_for(key_id)
    plaintext = sm4_gcm_decrypt(key, data[:GCM_NONCE_SIZE], data[GCM_NONCE_SIZE:], _aad(key_id))
    return plaintext.decode("utf-8")


# -- blind indexes --------------------------------------------------------------------------------------

_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


def _compact(value: str) -> str:
    # NFKC folds full-width digits and letters (typed with a Chinese IME) into ASCII.
    return "".join(unicodedata.normalize("NFKC", value).split())


def _normalise_phone(value: str) -> str:
    digits = "".join(ch for ch in _compact(value) if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix) :]
    return digits


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "phone": _normalise_phone,
    "id_number": lambda value: _compact(value).upper(),
}


def normalise(value: str, *, kind: str) -> str:
    """The form of ``value`` that the blind index is computed over."""
    return _NORMALISERS.get(kind, _compact)(value)


def blind_index(value: str, *, kind: str) -> str:
    """Hex HMAC-SM3 of ``kind:normalised value`` under the index key: equal inputs, equal indexes."""
    if not _KIND.match(kind):
        raise ValueError(f"bad blind index kind {kind!r}")
    message = f"{kind}:{normalise(value, kind=kind)}".encode()
    return hmac_sm3(get_keyring().index_key, message).hex()


# -- SQLAlchemy column type -----------------------------------------------------------------------------

# Comparing a column of random-looking tokens with a value is always a bug: it never matches.
_REFUSED_OPERATORS = {
    operators.eq,
    operators.ne,
    operators.lt,
    operators.le,
    operators.gt,
    operators.ge,
    operators.in_op,
    operators.not_in_op,
    operators.like_op,
    operators.not_like_op,
    operators.ilike_op,
    operators.not_ilike_op,
    operators.between_op,
    operators.not_between_op,
    operators.contains_op,
    operators.not_contains_op,
    operators.startswith_op,
    operators.not_startswith_op,
    operators.endswith_op,
    operators.not_endswith_op,
}


def _refuse(op: Any, other: tuple[Any, ...]) -> None:
    is_null_test = op in (operators.eq, operators.ne) and len(other) == 1 and other[0] is None
    if op in _REFUSED_OPERATORS and not is_null_test:
        raise TypeError("an EncryptedString column cannot be compared in SQL; query its blind index")


class EncryptedString(TypeDecorator[str]):
    """A string stored as a field token in a VARCHAR (``String(length)``); None stays NULL."""

    impl = String
    cache_ok = True

    def __init__(self, length: int = 255) -> None:
        super().__init__(length)
        self.length = length

    class comparator_factory(TypeDecorator.Comparator[str]):  # SQLAlchemy's hook name
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            _refuse(op, other)
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            _refuse(op, (other,))
            return super().reverse_operate(op, other, **kwargs)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"EncryptedString stores str, got {type(value).__name__}")
        token = encrypt_field(value)
        if len(token) > self.length:
            raise ValueError(
                f"value too long to store encrypted ({len(token)} > {self.length} characters as a token)"
            )
        return token

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return decrypt_field(value)
