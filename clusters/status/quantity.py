"""Kubernetes resource quantities ("12345678n", "5m", "1", "123456Ki", "1Gi") as numbers (pure).

The grammar is resource.Quantity's: a signed decimal number, then a binary suffix (Ki … Ei), a
decimal SI suffix (n u m "" k M G T P E) or a decimal exponent (e3, E-2). Rounded up, as
Quantity.MilliValue() and Value() round, so a usage never reads as less than it was.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?|[eE][+-]?\d+)$"
)


# Beyond these a hostile answer ("1e999999999") would cost seconds and an integer too long to
# store as JSON; no real usage comes near them (Quantity's own value is an int64).
MAX_DIGITS = 40
MAX_EXPONENT = 30
MAX_VALUE = 2**63


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity; ValueError when ``text`` is not one, or is out of the
    int64 range Kubernetes reads quantities in."""
    if not isinstance(text, str):
        raise ValueError(f"not a quantity: {text!r}")
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise ValueError(f"not a quantity: {text[:50]!r}")
    if len(match["number"]) > MAX_DIGITS:
        raise ValueError(f"quantity out of range: {text[:50]!r}")
    number, suffix = Fraction(match["number"]), match["suffix"]
    if suffix in _BINARY:
        value = number * _BINARY[suffix]
    elif suffix in _DECIMAL:
        value = number * _DECIMAL[suffix]
    else:
        exponent = int(suffix[1:])
        if abs(exponent) > MAX_EXPONENT:
            raise ValueError(f"quantity out of range: {text[:50]!r}")
        value = number * Fraction(10) ** exponent
    if abs(value) > MAX_VALUE:
        raise ValueError(f"quantity out of range: {text[:50]!r}")
    return value


def cpu_millicores(text: str) -> int:
    """CPU in millicores, rounded up ("12345678n" → 13, "5m" → 5, "1" → 1000)."""
    return math.ceil(parse_quantity(text) * 1000)


def memory_bytes(text: str) -> int:
    """Memory in bytes, rounded up ("123456Ki" → 126418944, "1Gi" → 1073741824)."""
    return math.ceil(parse_quantity(text))
