"""Which worker Bytewax gives a state key: SipHash-1-3 of the key, modulo the worker count.

Bytewax 0.21 places every key of a stateful step on a worker by hashing the key string
with Rust's `DefaultHasher` (SipHash-1-3 with zero keys, over the string's UTF-8 bytes
and a 0xff terminator) modulo the number of workers in the cluster. Knowing it lets
an input partition by player hold exactly the shards whose keys live on the worker that
reads it, so events reach their shard without crossing to another process
(`pitboss.operators.partitioning`). Nothing here decides an output: a Bytewax that
placed keys otherwise would only move events between processes again (a test runs
Bytewax and checks the placement).

Example:
    >>> [worker_of("s00", 2), worker_of("s01", 2), worker_of("models", 2)]
    [1, 0, 0]
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def _rotl(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & _MASK


def _round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _MASK
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _MASK
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _MASK
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _MASK
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash13(data: bytes) -> int:
    """Return SipHash-1-3 of `data` with zero keys, as Rust's `DefaultHasher::new()` does."""
    v0, v1, v2, v3 = 0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573
    end = len(data) - len(data) % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0 ^= m
    last = ((len(data) & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v3 ^= last
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(3):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def worker_of(key: str, workers: int) -> int:
    """Return the worker (0..workers-1) that Bytewax gives state key `key`."""
    return siphash13(key.encode("utf-8") + b"\xff") % workers
