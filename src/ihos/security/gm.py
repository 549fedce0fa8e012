"""China's national algorithms (国密): SM3 and HMAC-SM3, SM4 (CBC and GCM), and SM2 (signatures, encryption).

SM3 and SM4 come from ``cryptography`` (OpenSSL). SM2 runs on gmssl-pyx, or on the pure-Python
snowland-smx when gmssl-pyx cannot be imported (or ``IHOS_SM2_BACKEND=snowland-smx`` asks for it);
both sit behind the same classes and refuse the same malformed input. Formats match the ``openssl``
command line: DER signatures, GM/T 0009 (C1C3C2) ASN.1 ciphertexts, PKCS#8 and SubjectPublicKeyInfo PEM.
"""

from __future__ import annotations

import base64
import binascii
import hmac as _hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ihos.security import _der, _sm2

DEFAULT_UID = b"1234567812345678"
SM4_KEY_SIZE = 16
SM4_BLOCK_SIZE = 16
GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16
# gmssl-pyx limits one SM2 encryption to 255 bytes; SM2 encryption is for wrapping keys, not bulk data.
SM2_MAX_PLAINTEXT = 255

_ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_SM2_CURVE = "1.2.156.10197.1.301"


class IntegrityError(ValueError):
    """Ciphertext, tag or padding did not check out: the data was altered or the key is wrong."""


# -- SM3 ------------------------------------------------------------------------------------------------


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


# -- SM4 ------------------------------------------------------------------------------------------------


def _check_sm4_key(key: bytes) -> None:
    if len(key) != SM4_KEY_SIZE:
        raise ValueError(f"an SM4 key is {SM4_KEY_SIZE} bytes, got {len(key)}")


def sm4_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding. No integrity: prefer GCM for anything new."""
    _check_sm4_key(key)
    padder = padding.PKCS7(SM4_BLOCK_SIZE * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def sm4_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    _check_sm4_key(key)
    if not ciphertext or len(ciphertext) % SM4_BLOCK_SIZE:
        raise IntegrityError("SM4-CBC ciphertext is not a whole number of blocks")
    decryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(SM4_BLOCK_SIZE * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise IntegrityError("bad SM4-CBC padding") from error


def _check_nonce(nonce: bytes) -> None:
    # 96-bit nonces only: other lengths go through GHASH and weaken GCM's collision bounds.
    if len(nonce) != GCM_NONCE_SIZE:
        raise ValueError(f"an SM4-GCM nonce is {GCM_NONCE_SIZE} bytes, got {len(nonce)}")


def sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """SM4-GCM (RFC 8998): ciphertext || 16-byte tag. Never reuse a nonce under the same key."""
    _check_sm4_key(key)
    _check_nonce(nonce)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext + encryptor.tag


def sm4_gcm_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes = b"") -> bytes:
    _check_sm4_key(key)
    _check_nonce(nonce)
    if len(data) < GCM_TAG_SIZE:
        raise IntegrityError("SM4-GCM data shorter than its tag")
    ciphertext, tag = data[:-GCM_TAG_SIZE], data[-GCM_TAG_SIZE:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    plaintext = decryptor.update(ciphertext)
    try:
        return plaintext + decryptor.finalize()
    except InvalidTag as error:
        raise IntegrityError("SM4-GCM tag mismatch") from error


# -- SM2 backend selection ------------------------------------------------------------------------------

BACKENDS: dict[str, _sm2.Backend] = _sm2.load_backends()
if not BACKENDS:
    raise ImportError("SM2 needs gmssl-pyx or snowland-smx; neither can be imported")


def _choose_backend() -> _sm2.Backend:
    wanted = os.environ.get("IHOS_SM2_BACKEND", "").strip()
    if wanted:
        if wanted not in BACKENDS:
            raise ImportError(f"IHOS_SM2_BACKEND={wanted!r} is not available (have: {', '.join(BACKENDS)})")
        return BACKENDS[wanted]
    return next(iter(BACKENDS.values()))


_backend: _sm2.Backend = _choose_backend()


def active_backend() -> str:
    """The name of the SM2 backend in use: ``gmssl-pyx`` or ``snowland-smx``."""
    return _backend.name


def use_backend(name: str) -> None:
    """Switch the SM2 backend for the whole process (tests, diagnosis)."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"unknown or unavailable SM2 backend {name!r}")
    _backend = BACKENDS[name]


# -- SM2 helpers ----------------------------------------------------------------------------------------


def sm2_z(public: SM2PublicKey, uid: bytes = DEFAULT_UID) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), the signer's identity hash (GM/T 0003.2)."""
    if len(uid) >= 8192:
        raise ValueError("an SM2 ID is shorter than 8192 bytes")
    parameters = b"".join(value.to_bytes(32, "big") for value in (_sm2.A, _sm2.B, _sm2.GX, _sm2.GY))
    return sm3((len(uid) * 8).to_bytes(2, "big") + uid + parameters + public.to_bytes()[1:])


def _message_digest(public: SM2PublicKey, message: bytes, uid: bytes) -> bytes:
    return sm3(sm2_z(public, uid) + message)


def signature_to_raw(signature: bytes) -> bytes:
    """DER signature → 64-byte r||s (what sm-crypto's ``doSignature`` returns without ``der``)."""
    try:
        r, s = _sm2.decode_signature(signature)
    except _der.DERError as error:
        raise ValueError(f"not an SM2 signature: {error}") from error
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_from_raw(raw: bytes) -> bytes:
    """64-byte r||s → DER signature."""
    if len(raw) != 64:
        raise ValueError("a raw SM2 signature is 64 bytes")
    return _sm2.encode_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def ciphertext_to_raw(ciphertext: bytes) -> bytes:
    """ASN.1 ciphertext → raw 04||x||y||C3||C2 (C1C3C2), the layout sm-crypto uses (after '04')."""
    try:
        parsed = _sm2.decode_ciphertext(ciphertext)
    except _der.DERError as error:
        raise IntegrityError(f"not an SM2 ciphertext: {error}") from error
    return b"\x04" + _sm2.point_bytes(parsed.x, parsed.y) + parsed.hash + parsed.cipher


def ciphertext_from_raw(raw: bytes) -> bytes:
    """Raw 04||x||y||C3||C2 (C1C3C2) → ASN.1 ciphertext, as ``SM2PrivateKey.decrypt`` expects."""
    if len(raw) < 1 + 64 + 32 + 1 or raw[0] != 4:
        raise IntegrityError("a raw SM2 ciphertext is 04||x||y||C3||C2")
    x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:65], "big")
    if not _sm2.is_on_curve(x, y):
        raise IntegrityError("C1 is not a point on the SM2 curve")
    return _sm2.encode_ciphertext(_sm2.Ciphertext(x, y, raw[65:97], raw[97:]))


# -- PEM ------------------------------------------------------------------------------------------------

_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


def _pem_decode(data: str | bytes) -> tuple[str, bytes]:
    text = data.decode("ascii") if isinstance(data, bytes) else data
    match = _PEM.search(text)
    if match is None:
        raise ValueError("no PEM block found")
    try:
        body = base64.b64decode("".join(match.group(2).split()), validate=True)
    except binascii.Error as error:
        raise ValueError("bad base64 in PEM block") from error
    return match.group(1), body


def _pem_encode(label: str, der: bytes) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def _algorithm_identifier() -> bytes:
    # OpenSSL 3 labels SM2 keys as EC keys on the SM2 curve, so that is what we write.
    return _der.encode_sequence(_der.encode_oid(_ID_EC_PUBLIC_KEY), _der.encode_oid(_SM2_CURVE))


def _check_algorithm(element: _der.Element) -> None:
    parts = _der.read_all(element.content) if element.tag == _der.SEQUENCE else []
    oids = [_der.decode_oid(part) for part in parts]
    if oids != [_ID_EC_PUBLIC_KEY, _SM2_CURVE]:
        raise ValueError(f"not an SM2 key (algorithm {oids})")


# -- SM2 keys -------------------------------------------------------------------------------------------


class SM2PublicKey:
    """An SM2 public key (a point on the curve), for verifying signatures and encrypting short secrets."""

    __slots__ = ("_point",)

    def __init__(self, point: bytes) -> None:
        """``point`` is the 64-byte x||y; use the ``from_*`` constructors for other encodings."""
        if len(point) != 64:
            raise ValueError("an SM2 public point is 64 bytes (x||y)")
        if not _sm2.is_on_curve(int.from_bytes(point[:32], "big"), int.from_bytes(point[32:], "big")):
            raise ValueError("not a point on the SM2 curve")
        self._point = point

    @classmethod
    def from_bytes(cls, data: bytes) -> SM2PublicKey:
        """From 04||x||y, 02/03||x (compressed) or bare x||y."""
        if len(data) == 65 and data[0] == 4:
            return cls(data[1:])
        if len(data) == 64:
            return cls(data)
        if len(data) == 33 and data[0] in (2, 3):
            x = int.from_bytes(data[1:], "big")
            return cls(_sm2.point_bytes(x, _sm2.decompress(data[0], x)))
        raise ValueError("not an SM2 public key encoding")

    @classmethod
    def from_hex(cls, text: str) -> SM2PublicKey:
        """From hex, e.g. sm-crypto's ``04`` + x + y (130 characters)."""
        try:
            data = bytes.fromhex(text.strip())
        except ValueError as error:
            raise ValueError("not hex") from error
        return cls.from_bytes(data)

    @classmethod
    def from_pem(cls, data: str | bytes) -> SM2PublicKey:
        """From a ``PUBLIC KEY`` PEM block (SubjectPublicKeyInfo), as ``openssl pkey -pubout`` writes."""
        label, der = _pem_decode(data)
        if label != "PUBLIC KEY":
            raise ValueError(f"expected a PUBLIC KEY PEM block, found {label}")
        try:
            algorithm, key = _der.read_sequence(der)
            _check_algorithm(algorithm)
            return cls.from_bytes(_der.decode_bit_string(key))
        except _der.DERError as error:
            raise ValueError(f"bad SM2 public key: {error}") from error

    def to_bytes(self) -> bytes:
        """Uncompressed 04||x||y (65 bytes)."""
        return b"\x04" + self._point

    def to_hex(self) -> str:
        """``04`` + x + y in lower-case hex, the form sm-crypto takes."""
        return self.to_bytes().hex()

    def to_pem(self) -> str:
        return _pem_encode("PUBLIC KEY", self.to_der())

    def to_der(self) -> bytes:
        return _der.encode_sequence(_algorithm_identifier(), _der.encode_bit_string(self.to_bytes()))

    def verify(self, signature: bytes, message: bytes, *, uid: bytes = DEFAULT_UID) -> bool:
        """Whether ``signature`` (DER) is a valid SM2 signature of ``message`` under this key and ``uid``."""
        try:
            r, s = _sm2.decode_signature(signature)
        except _der.DERError:
            return False
        return _backend.verify_digest(self._point, _message_digest(self, message, uid), r, s)

    def encrypt(self, plaintext: bytes) -> bytes:
        """SM2 encryption (1 to 255 bytes), GM/T 0009 ASN.1 C1C3C2 as ``openssl pkeyutl -encrypt`` writes."""
        if not 1 <= len(plaintext) <= SM2_MAX_PLAINTEXT:
            raise ValueError(f"SM2 encrypts 1 to {SM2_MAX_PLAINTEXT} bytes; wrap an SM4 key for more")
        return _sm2.encode_ciphertext(_backend.encrypt(self._point, plaintext))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and _hmac.compare_digest(self._point, other._point)

    def __hash__(self) -> int:
        return hash(self._point)

    def __repr__(self) -> str:
        return f"SM2PublicKey({self.to_hex()[:18]}…)"


class SM2PrivateKey:
    """An SM2 private key with its public key. Its repr never shows the secret."""

    __slots__ = ("_private", "_public")

    def __init__(self, private: bytes, public: SM2PublicKey | None = None) -> None:
        """``private`` is the 32-byte scalar d; a given ``public`` must be d·G."""
        if not _sm2.is_valid_private(private):
            raise ValueError("an SM2 private key is a 32-byte scalar in [1, n-2]")
        derived = SM2PublicKey(_sm2.public_from_private(private))
        if public is not None and public != derived:
            raise ValueError("the public key does not belong to this private key")
        self._private = private
        self._public = derived

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        private, public = _backend.generate()
        return cls(private, SM2PublicKey(public))

    @classmethod
    def from_hex(cls, text: str) -> SM2PrivateKey:
        """From the 64-hex-digit scalar (sm-crypto's private key form)."""
        try:
            private = bytes.fromhex(text.strip())
        except ValueError as error:
            raise ValueError("not hex") from error
        return cls(private)

    @classmethod
    def from_pem(cls, data: str | bytes) -> SM2PrivateKey:
        """From unencrypted PKCS#8 (``openssl genpkey -algorithm SM2``) or SEC1 ``EC PRIVATE KEY``."""
        label, der = _pem_decode(data)
        try:
            if label == "PRIVATE KEY":
                return cls._from_pkcs8(der)
            if label == "EC PRIVATE KEY":
                return cls._from_sec1(der, curve_known=False)
        except _der.DERError as error:
            raise ValueError(f"bad SM2 private key: {error}") from error
        raise ValueError(f"expected a PRIVATE KEY PEM block (unencrypted), found {label}")

    @classmethod
    def _from_pkcs8(cls, der: bytes) -> SM2PrivateKey:
        elements = _der.read_sequence(der)
        if len(elements) < 3 or _der.decode_integer(elements[0]) != 0:
            raise _der.DERError("not a version 0 PKCS#8 PrivateKeyInfo")
        _check_algorithm(elements[1])
        return cls._from_sec1(_der.decode_octet_string(elements[2]), curve_known=True)

    @classmethod
    def _from_sec1(cls, der: bytes, *, curve_known: bool) -> SM2PrivateKey:
        """RFC 5915 ECPrivateKey: version 1, d, [0] curve OID, [1] public key."""
        elements = _der.read_sequence(der)
        if len(elements) < 2 or _der.decode_integer(elements[0]) != 1:
            raise _der.DERError("not a version 1 ECPrivateKey")
        private = _der.decode_octet_string(elements[1])
        public = None
        for element in elements[2:]:
            if element.tag == 0xA0:
                curve = _der.decode_oid(_der.read_single(element.content, _der.OBJECT_IDENTIFIER))
                if curve != _SM2_CURVE:
                    raise _der.DERError(f"curve {curve} is not SM2")
                curve_known = True
            elif element.tag == 0xA1:
                bits = _der.read_single(element.content, _der.BIT_STRING)
                public = SM2PublicKey.from_bytes(_der.decode_bit_string(bits))
        if not curve_known:
            raise _der.DERError("the key does not say it is on the SM2 curve")
        return cls(private, public)

    def public_key(self) -> SM2PublicKey:
        return self._public

    def to_hex(self) -> str:
        return self._private.hex()

    def to_pem(self) -> str:
        """Unencrypted PKCS#8, as ``openssl genpkey -algorithm SM2`` writes. Keep it out of logs and git."""
        ec_private_key = _der.encode_sequence(
            _der.encode_integer(1),
            _der.encode(_der.OCTET_STRING, self._private),
            _der.encode(0xA1, _der.encode_bit_string(self._public.to_bytes())),
        )
        der = _der.encode_sequence(
            _der.encode_integer(0), _algorithm_identifier(), _der.encode(_der.OCTET_STRING, ec_private_key)
        )
        return _pem_encode("PRIVATE KEY", der)

    def sign(self, message: bytes, *, uid: bytes = DEFAULT_UID) -> bytes:
        """DER signature (r, s) over SM3(Z || message), Z from ``uid`` and this key (GM/T 0003.2)."""
        digest = _message_digest(self._public, message, uid)
        r, s = _backend.sign_digest(self._private, self._public.to_bytes()[1:], digest)
        return _sm2.encode_signature(r, s)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """The plaintext of a GM/T 0009 ASN.1 ciphertext; ``IntegrityError`` if it does not check out."""
        try:
            parsed = _sm2.decode_ciphertext(ciphertext)
        except _der.DERError as error:
            raise IntegrityError(f"not an SM2 ciphertext: {error}") from error
        plaintext = _backend.decrypt(self._private, parsed)
        if plaintext is None:
            raise IntegrityError("SM2 ciphertext does not check out")
        return plaintext

    def __repr__(self) -> str:
        return f"SM2PrivateKey(public={self._public!r})"
