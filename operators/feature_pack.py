"""Feature rows packed small, for the training examples a player keeps pending.

A pending churn or fraud example holds a full feature row for days until its label
is known. Rows are mostly zeros (no withdrawals, no declined deposits, ...), so a
packed row is a count, a bitmap of the features that are not zero and those values
as float32, in one `bytes` object: about half the size of a float32 array.

Values are rounded to float32 (as pending examples always were); a value is
"zero" when its float32 bit pattern is all zeros, so -0.0 and NaN survive.

Example:
    >>> packed = pack_features((0.0, 2.5, 0.0, -1.0))
    >>> len(packed), unpack_features(packed)
    (11, (0.0, 2.5, 0.0, -1.0))
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

_COUNT_BYTES = 2


def pack_features(values: Sequence[float]) -> bytes:
    """Return `values` rounded to float32, packed as count, nonzero bitmap, nonzero values."""
    floats = array("f", values)
    bits = array("I", floats.tobytes())  # the same 4 bytes per value, read as integers
    mask = 0
    kept = array("f")
    for i, pattern in enumerate(bits):
        if pattern:
            mask |= 1 << i
            kept.append(floats[i])
    count = len(floats)
    return (count.to_bytes(_COUNT_BYTES, "little") + mask.to_bytes((count + 7) // 8, "little")
            + kept.tobytes())


def unpack_features(packed: bytes) -> tuple[float, ...]:
    """Return the row `pack_features` packed (as float32 values widened to float)."""
    count = int.from_bytes(packed[:_COUNT_BYTES], "little")
    start = _COUNT_BYTES + (count + 7) // 8
    mask = int.from_bytes(packed[_COUNT_BYTES:start], "little")
    kept = iter(array("f", packed[start:]))
    return tuple(next(kept) if mask >> i & 1 else 0.0 for i in range(count))
