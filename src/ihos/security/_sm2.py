"""SM2 internals: curve arithmetic checks, DER codecs and the two interchangeable backends.

``ihos.security.gm`` is the public face. The backends only do the raw operations on validated input
(32-byte private scalars, 64-byte x||y public points, 32-byte digests); every check that decides
whether input is acceptable lives here or in ``gm`` so that both backends refuse exactly the same things.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from ihos.security import _der

# GM/T 0003.5 recommended curve parameters (sm2p256v1).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DIGEST_SIZE = 32


@dataclass(frozen=True)
class Ciphertext:
    """GM/T 0009 SM2 ciphertext: C1 = (x, y), C3 = SM3 hash, C2 = masked plaintext."""

    x: int
    y: int
    hash: bytes
    cipher: bytes


class Backend(Protocol):
    name: str

    def generate(self) -> tuple[bytes, bytes]:
        """A fresh key pair: (32-byte private scalar, 64-byte x||y public point)."""
        ...

    def sign_digest(self, private: bytes, public: bytes, digest: bytes) -> tuple[int, int]: ...

    def verify_digest(self, public: bytes, digest: bytes, r: int, s: int) -> bool: ...

    def encrypt(self, public: bytes, plaintext: bytes) -> Ciphertext: ...

    def decrypt(self, private: bytes, ciphertext: Ciphertext) -> bytes | None:
        """The plaintext, or None when the ciphertext does not check out."""
        ...


# -- curve checks ---------------------------------------------------------------------------------------


def is_on_curve(x: int, y: int) -> bool:
    # The cofactor is 1, so any affine point on the curve has order N: no subgroup check is needed.
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def decompress(prefix: int, x: int) -> int:
    """The y coordinate of a compressed point (P = 3 mod 4, so the square root is one power)."""
    y = pow((x * x * x + A * x + B) % P, (P + 1) // 4, P)
    if not is_on_curve(x, y):
        raise ValueError("not a point on the SM2 curve")
    return y if y % 2 == prefix - 2 else P - y


def point_bytes(x: int, y: int) -> bytes:
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def public_from_private(private: bytes) -> bytes:
    from pysmx.SM2 import kG, sm2_G  # pure Python, always installed; one multiplication per key load

    point = kG(int.from_bytes(private, "big"), sm2_G, 64)
    return bytes.fromhex(point)


def is_valid_private(private: bytes) -> bool:
    # GM/T 0003: d in [1, n-2] (d = n-1 would make 1+d non-invertible when signing).
    return len(private) == 32 and 1 <= int.from_bytes(private, "big") <= N - 2


# -- DER codecs -----------------------------------------------------------------------------------------


def encode_signature(r: int, s: int) -> bytes:
    return _der.encode_sequence(_der.encode_integer(r), _der.encode_integer(s))


def decode_signature(data: bytes) -> tuple[int, int]:
    """(r, s) from a strict DER signature with both values in [1, n-1]."""
    elements = _der.read_sequence(data)
    if len(elements) != 2:
        raise _der.DERError("a signature has two integers")
    r, s = (_der.decode_integer(element) for element in elements)
    if not (1 <= r < N and 1 <= s < N):
        raise _der.DERError("signature values out of range")
    return r, s


def encode_ciphertext(ciphertext: Ciphertext) -> bytes:
    return _der.encode_sequence(
        _der.encode_integer(ciphertext.x),
        _der.encode_integer(ciphertext.y),
        _der.encode(_der.OCTET_STRING, ciphertext.hash),
        _der.encode(_der.OCTET_STRING, ciphertext.cipher),
    )


def decode_ciphertext(data: bytes) -> Ciphertext:
    """A strict GM/T 0009 ciphertext whose C1 is a point on the curve (no invalid-curve attacks)."""
    elements = _der.read_sequence(data)
    if len(elements) != 4:
        raise _der.DERError("an SM2 ciphertext has four fields")
    x = _der.decode_integer(elements[0])
    y = _der.decode_integer(elements[1])
    digest = _der.decode_octet_string(elements[2])
    cipher = _der.decode_octet_string(elements[3])
    if not is_on_curve(x, y):
        raise _der.DERError("C1 is not a point on the SM2 curve")
    if len(digest) != DIGEST_SIZE or not cipher:
        raise _der.DERError("bad C3 or empty C2")
    return Ciphertext(x, y, digest, cipher)


# -- backends -------------------------------------------------------------------------------------------


class GmsslBackend:
    """GmSSL 3 through gmssl-pyx (C): the default."""

    name = "gmssl-pyx"

    def __init__(self) -> None:
        import gmssl_pyx

        self._lib = gmssl_pyx

    def generate(self) -> tuple[bytes, bytes]:
        public, private = self._lib.sm2_key_generate()
        return private, public

    def sign_digest(self, private: bytes, public: bytes, digest: bytes) -> tuple[int, int]:
        return decode_signature(self._lib.sm2_sign_sm3_digest(private, digest))

    def verify_digest(self, public: bytes, digest: bytes, r: int, s: int) -> bool:
        try:
            return bool(self._lib.sm2_verify_sm3_digest(public, digest, encode_signature(r, s)))
        except self._lib.GmsslInnerError:
            return False

    def encrypt(self, public: bytes, plaintext: bytes) -> Ciphertext:
        return decode_ciphertext(self._lib.sm2_encrypt(public, plaintext))

    def decrypt(self, private: bytes, ciphertext: Ciphertext) -> bytes | None:
        try:
            return bytes(self._lib.sm2_decrypt(private, encode_ciphertext(ciphertext)))
        except self._lib.GmsslInnerError:
            return None


class PythonBackend:
    """snowland-smx (pure Python): slower, for platforms without a gmssl-pyx wheel."""

    name = "snowland-smx"

    def __init__(self) -> None:
        from pysmx import SM2

        self._sm2 = SM2

    def generate(self) -> tuple[bytes, bytes]:
        private = (secrets.randbelow(N - 2) + 1).to_bytes(32, "big")
        return private, public_from_private(private)

    def sign_digest(self, private: bytes, public: bytes, digest: bytes) -> tuple[int, int]:
        while True:
            k = f"{secrets.randbelow(N - 1) + 1:064x}"
            try:
                signature = self._sm2.Sign(digest.hex(), private, k, 64, Hexstr=1)
            except TypeError:  # the library's way of saying s = 0: pick another k
                continue
            if signature:
                return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")

    def verify_digest(self, public: bytes, digest: bytes, r: int, s: int) -> bool:
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        try:
            return bool(self._sm2.Verify(raw, digest.hex(), public, 64, Hexstr=1))
        except (TypeError, ValueError):  # a sum at infinity is a failed verification, not a crash
            return False

    def encrypt(self, public: bytes, plaintext: bytes) -> Ciphertext:
        while True:
            raw = self._sm2.Encrypt(plaintext, public, 64)
            if raw:  # None when the KDF output is all zeros: retry with another k
                return Ciphertext(
                    int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64:96], raw[96:]
                )

    def decrypt(self, private: bytes, ciphertext: Ciphertext) -> bytes | None:
        raw = point_bytes(ciphertext.x, ciphertext.y) + ciphertext.hash + ciphertext.cipher
        try:
            plaintext = self._sm2.Decrypt(raw, private, 64)
        except (TypeError, ValueError):
            return None
        return bytes(plaintext) if plaintext is not None else None


def load_backends() -> dict[str, Backend]:
    """Every backend that imports here, preferred first."""
    backends: dict[str, Backend] = {}
    for factory in (GmsslBackend, PythonBackend):
        try:
            backend = factory()
        except ImportError:
            continue
        backends[backend.name] = backend
    return backends
