"""The offer holdout group: a stable, configured share of players who never get offers.

Membership is a pure function of the player id and a salt (blake2b, not Python's
per-process salted `hash`), so every worker, replay and resume agrees on it, and
changing the salt draws a new group. Uplift of offers is measured against it.

Example:
    >>> in_holdout("p1", 0.0, "s"), in_holdout("p1", 1.0, "s")
    (False, True)
    >>> in_holdout("p1", 0.5, "s") == in_holdout("p1", 0.5, "s")
    True

"""

from __future__ import annotations

from hashlib import blake2b

_SCALE = float(2**64)


def holdout_position(player_id: str, salt: str) -> float:
    """Return the player's stable position in [0, 1) for the holdout draw `salt`."""
    digest = blake2b(player_id.encode("utf-8", "surrogatepass"), digest_size=8,
                     key=salt.encode("utf-8")[:64])
    return int.from_bytes(digest.digest(), "big") / _SCALE


def in_holdout(player_id: str, share: float, salt: str) -> bool:
    """Return whether the player belongs to the holdout group of size `share` in [0, 1]."""
    return holdout_position(player_id, salt) < share
