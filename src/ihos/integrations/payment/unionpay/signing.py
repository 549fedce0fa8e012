"""UnionPay online-payment signatures (全渠道 5.1.0, ``signMethod=01``), with ``cryptography``.

The rule, as UnionPay's acp SDK implements it (``SDKUtil.sign`` / ``AcpService.validate``):

1. every field except ``signature``, sorted by name, joined as ``k=v&k=v`` with raw values (blank fields
   are never sent, and a receiver drops them before verifying);
2. the SHA-256 of that string (UTF-8), written as 64 lowercase hex characters;
3. ``signature`` = base64(SHA256withRSA (PKCS#1 v1.5) over those 64 ASCII characters) with the merchant
   signing key; ``certId`` = the decimal serial number of the merchant signing certificate.

UnionPay signs its answers and notifications the same way and sends its signing certificate in
``signPubKeyCert``: the receiver checks that it is valid now, chains to UnionPay's intermediate and root
certificates, and names 中国银联股份有限公司 (the third ``@`` field of its CN), then verifies with its key.

UnionPay's synchronous answers are ``k=v&k=v`` *without* URL encoding; ``parse_answer`` reads them as
the SDK's ``parseQString`` does (a value opening ``{`` or ``[`` runs to the matching close).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

SIGNATURE = "signature"
UNIONPAY_NAME = "中国银联股份有限公司"
# The identity in the CN of the signing certificate of UnionPay's test environment.
TEST_ENVIRONMENT_NAME = "00040000:SIGN"


class UnionPayKeyError(ValueError):
    """A configured key or certificate could not be read."""


class CertificateRejected(Exception):
    """``signPubKeyCert`` is not UnionPay's valid signing certificate."""


def signing_string(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{key}={value}" for key, value in sorted(params.items()) if key != SIGNATURE and value != ""
    )


def digest_text(params: Mapping[str, str]) -> bytes:
    return hashlib.sha256(signing_string(params).encode("utf-8")).hexdigest().encode("ascii")


def sign(private_key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> str:
    signature = private_key.sign(digest_text(params), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(public_key: rsa.RSAPublicKey, params: Mapping[str, str], signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, digest_text(params), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def cert_id(certificate: x509.Certificate) -> str:
    return str(certificate.serial_number)


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_pfx(data: bytes, password: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The merchant signing key and certificate from UnionPay's .pfx (PKCS#12)."""
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError:
        raise UnionPayKeyError("the .pfx cannot be read (wrong password?)") from None
    if not isinstance(key, rsa.RSAPrivateKey) or certificate is None:
        raise UnionPayKeyError("the .pfx holds no RSA key with its certificate")
    return key, certificate


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(text.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise UnionPayKeyError("the signing key cannot be read (PEM expected)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnionPayKeyError("the signing key is not an RSA key")
    return key


def load_certificate(data: str | bytes) -> x509.Certificate:
    """PEM or DER (UnionPay ships .cer files in either)."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        if raw.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_certificate(raw.strip())
        return x509.load_der_x509_certificate(raw)
    except ValueError:
        raise UnionPayKeyError("the certificate cannot be read (PEM or DER expected)") from None


def identity(certificate: x509.Certificate) -> str:
    """The owner named in the CN, ``041@8310000000008304@中国银联股份有限公司@00016494`` → the third field."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    parts = str(names[0].value).split("@") if names else []
    return parts[2] if len(parts) > 2 else ""


def check_signing_certificate(
    pem: str,
    *,
    root: x509.Certificate,
    middle: x509.Certificate,
    at: datetime,
    check_name: bool = True,
) -> rsa.RSAPublicKey:
    """The public key of ``signPubKeyCert`` once it is shown to be UnionPay's; ``CertificateRejected``
    otherwise."""
    certificate, key = _chained(
        pem,
        root.public_bytes(serialization.Encoding.DER),
        middle.public_bytes(serialization.Encoding.DER),
    )
    for member in (certificate, middle, root):
        if not member.not_valid_before_utc <= at <= member.not_valid_after_utc:
            raise CertificateRejected(f"certificate {member.serial_number} is not valid at {at.isoformat()}")
    owner = identity(certificate)
    accepted = {UNIONPAY_NAME} if check_name else {UNIONPAY_NAME, TEST_ENVIRONMENT_NAME}
    if owner not in accepted:
        raise CertificateRejected(f"the signing certificate belongs to {owner!r}, not UnionPay")
    return key


@lru_cache(maxsize=32)
def _chained(pem: str, root_der: bytes, middle_der: bytes) -> tuple[x509.Certificate, rsa.RSAPublicKey]:
    """Parse and chain-check once per certificate: UnionPay sends the same one with every message."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.strip().encode("latin-1"))
    except (ValueError, UnicodeEncodeError):
        raise CertificateRejected("signPubKeyCert is not a PEM certificate") from None
    root = x509.load_der_x509_certificate(root_der)
    middle = x509.load_der_x509_certificate(middle_der)
    try:
        certificate.verify_directly_issued_by(middle)
        middle.verify_directly_issued_by(root)
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateRejected("signPubKeyCert does not chain to UnionPay's root certificate") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateRejected("signPubKeyCert holds no RSA key")
    return certificate, key


def parse_answer(text: str) -> dict[str, str]:
    """UnionPay's synchronous answer (``k=v&k=v``, not URL-encoded) as the acp SDK reads it."""
    fields: dict[str, str] = {}
    key: str | None = None
    buffer: list[str] = []
    closing: str | None = None
    for char in text:
        if key is None:
            if char == "=":
                key, buffer = "".join(buffer), []
            else:
                buffer.append(char)
            continue
        if closing is not None:
            if char == closing:
                closing = None
        elif char in "{[":
            closing = "}" if char == "{" else "]"
        if char == "&" and closing is None:
            _put(fields, key, buffer)
            key, buffer = None, []
        else:
            buffer.append(char)
    if key is not None:
        _put(fields, key, buffer)
    elif buffer:
        _put(fields, "".join(buffer), [])
    return fields


def _put(fields: dict[str, str], key: str, buffer: list[str]) -> None:
    if not key:
        raise ValueError("empty field name in UnionPay answer")
    fields[key] = "".join(buffer)
