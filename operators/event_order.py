"""The one order of events that replay and live workers both process: the event-order key.

Events reach Pitboss from several streams (four topics with several partitions
each, or one or more recorded files). To decide the same way however the events
were spread over those streams, every input is merged into the order of the
key `(ts, player_id, event type, ...)`: event time first, then the player, then
the event type in contract order. Two events with equal keys belong to the same
player and type, so they sit on one Kafka partition (keyed by `player_id`) or in
one file, and keep the order they have there.

`OrderKeyReader` reads just those three fields from a raw message (msgspec skips
the rest in C); the contract parser still judges the whole message later. A
message whose time or player cannot be read by the contract's rules gets
`UNKEYED`, which sorts first: it will be dead-lettered, and holding it back would
help nothing. A readable time and player with an unknown (or non-string) event
type rank after every known type. msgspec gives up on nesting deeper than
Python's recursion limit, a little before the parser's JSON reader (orjson, 1024
levels) does: such rare messages are read with orjson, as the parser reads them.

Example:
    >>> read = OrderKeyReader()
    >>> read(b'{"event_type":"deposit","ts":"2026-11-20T12:00:00.123Z","player_id":"p1"}')
    (1795176000123, 'p1', 2)
    >>> read(b'{"event_type":"bet","ts":1795176000123,"player_id":"p1"}')
    (1795176000123, 'p1', 0)
    >>> read(b'not json') == UNKEYED
    True
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from pitboss.operators.event_time import EventTimeReader
from pitboss.operators.events import EVENT_CLASSES, MAX_TS_MS, MIN_TS_MS

OrderKey = tuple[int, str, int]
"""`(event time in epoch ms, player_id, rank of the event type in contract order)`."""

UNKEYED: OrderKey = (-(2**63), "", -1)
"""The key of a message without a readable time or player: it sorts before any event."""

TYPE_RANK: dict[str, int] = {name: rank for rank, name in enumerate(EVENT_CLASSES)}
"""Event types in contract order; an unknown type ranks after every known one."""


class _KeyFields(msgspec.Struct):
    # Any JSON value, checked after decoding: a field may repeat, and like the contract
    # parser's JSON reader the key takes its last value, whatever the earlier ones were.
    ts: Any = None
    player_id: Any = None
    event_type: Any = None


class OrderKeyReader:
    """Read the event-order key of raw messages; anything unreadable gets `UNKEYED`.

    Times follow the contract's rule (`pitboss.operators.contract.parse_timestamp`): integer
    epoch milliseconds or an RFC 3339 string with an offset, both within years
    0001..9999. So every key's time lies strictly between the aligner's
    `NOT_STARTED` and `END_OF_TIME` marks (`pitboss.operators.alignment`).
    """

    __slots__ = ("_decode", "_read_time")

    def __init__(self) -> None:
        self._decode = msgspec.json.Decoder(_KeyFields).decode
        self._read_time = EventTimeReader().read

    def __call__(self, raw: bytes) -> OrderKey:
        """Return the key of one raw message."""
        try:
            fields = self._decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return UNKEYED
        except RecursionError:  # deeply nested JSON somewhere in the message
            return self._read_deep(raw)
        return self._key(fields.ts, fields.player_id, fields.event_type)

    def _read_deep(self, raw: bytes) -> OrderKey:
        """Read the key with the parser's JSON reader, which allows deeper nesting."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return UNKEYED
        if type(obj) is not dict:
            return UNKEYED
        return self._key(obj.get("ts"), obj.get("player_id"), obj.get("event_type"))

    def _key(self, ts: Any, player_id: Any, event_type: Any) -> OrderKey:
        """Check the three decoded fields by the contract's rules and build the key."""
        if type(ts) is str:
            ts = self._read_time(ts)
        elif type(ts) is not int or not MIN_TS_MS <= ts <= MAX_TS_MS:
            ts = None  # msgspec hands out integers of any size
        if ts is None or type(player_id) is not str or not player_id:
            return UNKEYED
        unknown = len(TYPE_RANK)
        rank = TYPE_RANK.get(event_type, unknown) if type(event_type) is str else unknown
        return ts, player_id, rank
