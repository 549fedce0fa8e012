"""The few DER (ASN.1) shapes SM2 needs: signatures, ciphertexts and key files.

Decoding is strict on purpose: one value has exactly one accepted encoding, so a re-encoded or padded
signature or ciphertext is refused instead of being accepted as "the same" value (no malleability).
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OBJECT_IDENTIFIER = 0x06


class DERError(ValueError):
    """The bytes are not the strict DER encoding that was expected."""


@dataclass(frozen=True)
class Element:
    tag: int
    content: bytes


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def encode_integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are used here")
    # One extra byte keeps the sign bit clear (DER integers are two's complement).
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return encode(INTEGER, body)


def encode_sequence(*parts: bytes) -> bytes:
    return encode(SEQUENCE, b"".join(parts))


def encode_bit_string(data: bytes) -> bytes:
    return encode(BIT_STRING, b"\x00" + data)


def encode_oid(dotted: str) -> bytes:
    numbers = [int(part) for part in dotted.split(".")]
    body = bytearray([numbers[0] * 40 + numbers[1]])
    for number in numbers[2:]:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        body.extend(reversed(chunk))
    return encode(OBJECT_IDENTIFIER, bytes(body))


def read(data: bytes, offset: int = 0) -> tuple[Element, int]:
    """One element at ``offset`` and the offset after it; only definite, minimal lengths."""
    if offset + 2 > len(data):
        raise DERError("truncated")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not used here")
    first = data[offset + 1]
    position = offset + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or position + count > len(data):
            raise DERError("bad length")
        size = int.from_bytes(data[position : position + count], "big")
        if size < 0x80 or data[position] == 0:
            raise DERError("non-minimal length")
        position += count
    end = position + size
    if end > len(data):
        raise DERError("truncated")
    return Element(tag, data[position:end]), end


def read_all(data: bytes) -> list[Element]:
    """Every element of a concatenation (the content of a SEQUENCE), consuming all the bytes."""
    elements = []
    offset = 0
    while offset < len(data):
        element, offset = read(data, offset)
        elements.append(element)
    return elements


def read_single(data: bytes, tag: int) -> Element:
    """Exactly one element with ``tag`` and nothing after it."""
    element, end = read(data)
    if end != len(data):
        raise DERError("trailing bytes")
    if element.tag != tag:
        raise DERError(f"expected tag {tag:#x}, found {element.tag:#x}")
    return element


def read_sequence(data: bytes) -> list[Element]:
    return read_all(read_single(data, SEQUENCE).content)


def decode_integer(element: Element) -> int:
    """A non-negative INTEGER in its minimal encoding."""
    content = element.content
    if element.tag != INTEGER or not content:
        raise DERError("expected an INTEGER")
    if content[0] & 0x80:
        raise DERError("negative INTEGER")
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        raise DERError("non-minimal INTEGER")
    return int.from_bytes(content, "big")


def decode_octet_string(element: Element) -> bytes:
    if element.tag != OCTET_STRING:
        raise DERError("expected an OCTET STRING")
    return element.content


def decode_bit_string(element: Element) -> bytes:
    if element.tag != BIT_STRING or not element.content or element.content[0] != 0:
        raise DERError("expected a BIT STRING of whole bytes")
    return element.content[1:]


def decode_oid(element: Element) -> str:
    content = element.content
    if element.tag != OBJECT_IDENTIFIER or not content or content[-1] & 0x80:
        raise DERError("expected an OBJECT IDENTIFIER")
    numbers: list[int] = []
    value = 0
    for byte in content:
        if value == 0 and byte == 0x80:
            raise DERError("non-minimal OBJECT IDENTIFIER")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(value)
            value = 0
    first = min(numbers[0] // 40, 2)
    return ".".join(str(n) for n in [first, numbers[0] - first * 40, *numbers[1:]])
