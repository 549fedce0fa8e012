"""Identifiers: time-ordered UUIDs (v7 layout) for primary keys, random tokens for secrets."""

from __future__ import annotations

import os
import secrets
import time
import uuid


def uuid7() -> uuid.UUID:
    """A UUID whose first 48 bits are the Unix time in milliseconds (RFC 9562 version 7).

    Time-ordered keys keep B-tree inserts local, which matters for the busy tables (bookings, audit).
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def token(nbytes: int = 32) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


def digits(n: int) -> str:
    """A random string of ``n`` decimal digits (SMS codes, pickup codes)."""
    return "".join(secrets.choice("0123456789") for _ in range(n))
