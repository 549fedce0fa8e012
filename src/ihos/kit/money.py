"""Money: integer fen (分), parsed from strings with Decimal, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class InvalidAmount(ValueError):
    pass


def yuan_to_fen(value: str | int | Decimal) -> int:
    """``"12.30"`` → 1230. Refuses more than two decimals and floats."""
    if isinstance(value, float):  # pragma: no cover - guarded by type, kept for callers without types
        raise InvalidAmount("amounts are never floats")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidAmount(f"not an amount: {value!r}") from exc
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise InvalidAmount(f"more than two decimals: {value!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """1230 → ``"12.30"``."""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
