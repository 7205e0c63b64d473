"""The event ids a player saw recently, kept to recognise repeated events.

One `array("q")` holds `(fingerprint, event time)` pairs side by side in arrival
order: one small array per player instead of two. Lookups search the array's bytes
for the fingerprint (a C-speed scan) and accept only matches at a fingerprint's
position, never a coincidence with an event time.

Example:
    >>> ids = array("q")
    >>> remember(ids, 7, 1_000, cutoff=0)
    >>> seen(ids, 7), seen(ids, 1_000)
    (True, False)
    >>> remember(ids, 8, 9_000, cutoff=5_000)   # drops pairs older than the cutoff
    >>> list(ids)
    [8, 9000]
"""

from __future__ import annotations

import sys
from array import array

_ITEM_BYTES = array("q").itemsize
_PAIR_BYTES = 2 * _ITEM_BYTES


def seen(ids: array, fingerprint: int) -> bool:
    """Return True when `fingerprint` is one of the remembered ids."""
    data = ids.tobytes()
    key = fingerprint.to_bytes(_ITEM_BYTES, sys.byteorder, signed=True)
    pos = data.find(key)
    while pos >= 0:
        if pos % _PAIR_BYTES == 0:
            return True
        pos = data.find(key, pos + 1)  # matched inside an event time or across values
    return False


def remember(ids: array, fingerprint: int, ts_ms: int, cutoff: int) -> None:
    """Forget the leading pairs older than `cutoff`, then remember `fingerprint` at `ts_ms`.

    Only a leading run is forgotten: an out-of-order older pair behind a newer one
    stays until the pairs before it go, as the dedup window only needs a lower bound.
    """
    drop = 0
    while drop < len(ids) and ids[drop + 1] < cutoff:
        drop += 2
    if drop:
        del ids[:drop]
    ids.append(fingerprint)
    ids.append(ts_ms)
