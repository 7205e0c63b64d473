"""Event contract v1: turn one raw message into a typed `Event` or a `DeadLetter`.

This is the only door into the pipeline. `EventParser.parse` decodes one Kafka
message value (or one line of a replay file) with orjson, checks it against the
contract in docs/event-contract.md, converts money to the base currency with the
configured rate table, and returns the matching dataclass of `pitboss.operators.events`.
Anything that breaks the contract comes back as a `DeadLetter` whose `reason` is
one of the codes in `PARSER_REASONS`; nothing raises. Deduplication by
`event_id` and lateness are per-player concerns handled later in the flow.

The parser is on the hot path (at least 100k events/s through the whole pipeline
on two cores), so validation is a dispatch table of small functions per
`event_type` using exact type checks, and a rejection is signalled by a private
exception that costs nothing when no message is rejected.

Example:
    >>> from pitboss.config.settings import ContractSettings
    >>> parser = EventParser(ContractSettings(rates={"EUR": 1.0, "GBP": 1.17}),
    ...                      now_ms=lambda: 1_795_000_000_000)
    >>> raw = (b'{"event_id":"e1","event_type":"deposit","player_id":"p1",'
    ...        b'"ts":"2026-11-18T08:00:00Z","amount":10,"currency":"GBP",'
    ...        b'"method":"card","status":"approved"}')
    >>> deposit = parser.parse(raw, source="deposits/0", position=41)
    >>> deposit.amount_base, deposit.ts_ms, deposit.jurisdiction
    (11.7, 1794988800000, 'UK')
    >>> letter = parser.parse(b'{"event_type": "bet", "event_id": 7}', "bets/3", 42)
    >>> letter.reason, letter.field
    ('invalid_field', 'event_id')

"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from pitboss.operators.bet_decoder import BET_MARK, BetDecoder
from pitboss.operators.event_time import EventTimeReader, rfc3339_ms
from pitboss.operators.events import (
    BONUS_TYPES,
    CHANNELS,
    DEPOSIT_METHODS,
    DEPOSIT_STATUSES,
    GAME_TYPES,
    LIMIT_PERIODS,
    LIMIT_TYPES,
    MAX_EVENT_ID_CHARS,
    MAX_JURISDICTION_CHARS,
    MAX_PLAYER_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_TS_MS,
    MIN_TS_MS,
    RG_OUTCOMES,
    VERDICTS,
    WITHDRAWAL_STATUSES,
    Bet,
    BetSettled,
    BonusClaim,
    Chargeback,
    Consent,
    DeadLetter,
    Deposit,
    Event,
    FraudVerdict,
    LimitSet,
    ReviewDecision,
    RgAssessment,
    SelfExclusion,
    SessionEnd,
    SessionStart,
    Withdrawal,
)

if TYPE_CHECKING:
    from pitboss.config.settings import ContractSettings

MALFORMED_JSON = "malformed_json"
TOO_DEEP = "too_deep"
NOT_AN_OBJECT = "not_an_object"
TOO_LARGE = "too_large"
MISSING_FIELD = "missing_field"
INVALID_FIELD = "invalid_field"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
UNKNOWN_CURRENCY = "unknown_currency"
BAD_TIMESTAMP = "bad_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"

PARSER_REASONS = frozenset(
    {
        MALFORMED_JSON,
        TOO_DEEP,
        NOT_AN_OBJECT,
        TOO_LARGE,
        MISSING_FIELD,
        INVALID_FIELD,
        UNKNOWN_EVENT_TYPE,
        UNKNOWN_CURRENCY,
        BAD_TIMESTAMP,
        FUTURE_TIMESTAMP,
        AMOUNT_OUT_OF_RANGE,
    }
)
"""Every `DeadLetter.reason` the parser can produce (see docs/event-contract.md)."""

EXCERPT_BYTES = 200

_MONEY_LIMITS = frozenset({"deposit", "loss", "wager"})

_Common = tuple[str, str, str, int, str, str | None]
"""`event_id, event_type, player_id, ts_ms, jurisdiction, channel`: `Event`'s fields in order."""


def wall_clock_ms() -> int:
    """Read the wall clock in epoch milliseconds: the one place the parser's clock comes from.

    Only the future-timestamp rule uses it; everything downstream runs on event time.

    Returns:
        Milliseconds since the Unix epoch, now.

    """
    return time.time_ns() // 1_000_000


def parse_timestamp(value: object) -> int | None:
    """Read an event time as integer epoch milliseconds.

    Args:
        value: an RFC 3339 string with an offset (`Z` or `+hh:mm`), fractions of a
            second truncated to the millisecond, or an integer of epoch milliseconds
            (years 0001..9999). Booleans, floats and offset-less strings are invalid.

    Returns:
        Epoch milliseconds (UTC), or None when the value is not a valid timestamp.

    Example:
        >>> parse_timestamp("2026-11-20T12:00:00.123Z")
        1795176000123
        >>> parse_timestamp("2026-11-20T14:00:00.123+02:00")
        1795176000123
        >>> parse_timestamp(1795176000123)
        1795176000123
        >>> parse_timestamp("2026-11-20T12:00:00") is None, parse_timestamp(True) is None
        (True, True)

    """
    if type(value) is int:
        return value if MIN_TS_MS <= value <= MAX_TS_MS else None
    if type(value) is str:
        return rfc3339_ms(value)
    return None


class _Rejected(Exception):
    """Raised inside the parser only: the message breaks the contract."""

    __slots__ = ("detail", "field", "reason")

    def __init__(self, reason: str, field: str | None, detail: str) -> None:
        self.reason = reason
        self.field = field
        self.detail = detail


def _wrong(obj: dict[str, Any], name: str, expected: str) -> _Rejected:
    """Reject a required field as missing when absent, else as not what `expected` says."""
    if name not in obj:
        return _Rejected(MISSING_FIELD, name, f"{name} is required")
    return _Rejected(INVALID_FIELD, name, f"{name} must be {expected}")


def _text(obj: dict[str, Any], name: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Read a required string of 1..`max_chars` characters, kept verbatim."""
    value = obj.get(name)
    if type(value) is str and 0 < len(value) <= max_chars:
        return value
    raise _wrong(obj, name, f"a string of 1..{max_chars} characters")


def _optional_text(obj: dict[str, Any], name: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """Read an optional string; absent and null both mean None."""
    value = obj.get(name)
    if value is None:
        return None
    if type(value) is str and 0 < len(value) <= max_chars:
        return value
    raise _Rejected(INVALID_FIELD, name, f"{name} must be a string of 1..{max_chars} characters")


def _choice(obj: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    """Read a required string out of a closed vocabulary."""
    value = obj.get(name)
    if type(value) is str and value in allowed:
        return value
    raise _wrong(obj, name, f"one of {', '.join(sorted(allowed))}")


def _bad_amount(obj: dict[str, Any], name: str, rule: str) -> _Rejected:
    """Reject an amount that is absent, not a number, or outside `rule`."""
    value = obj.get(name)
    if type(value) is float or type(value) is int:
        return _Rejected(AMOUNT_OUT_OF_RANGE, name, f"{name} must be {rule}")
    return _wrong(obj, name, "a number (true and false are not numbers)")


def _positive(obj: dict[str, Any], name: str) -> float:
    """Read a required number > 0 as a float."""
    value = obj.get(name)
    if (type(value) is float or type(value) is int) and value > 0:
        return float(value)
    raise _bad_amount(obj, name, "> 0")


def _non_negative(obj: dict[str, Any], name: str) -> float:
    """Read a required number >= 0 as a float."""
    value = obj.get(name)
    if (type(value) is float or type(value) is int) and value >= 0:
        return float(value)
    raise _bad_amount(obj, name, ">= 0")


def _bad_event_time(obj: dict[str, Any]) -> _Rejected:
    """Reject a `ts` that is absent or not a valid timestamp."""
    if "ts" not in obj:
        return _Rejected(MISSING_FIELD, "ts", "ts is required")
    return _Rejected(BAD_TIMESTAMP, "ts", "ts must be RFC 3339 with an offset or integer epoch ms")


class EventParser:
    """Validate raw messages against contract v1 and build typed events.

    Args:
        settings: the `contract` section of the configuration (rates, limits).
        now_ms: the wall clock in epoch milliseconds, injected so tests fix it;
            production passes `wall_clock_ms`.
        typed_bets: read the usual bet through `pitboss.operators.bet_decoder` first (the
            result is the same either way; False is for tests and benchmarks that
            compare the two paths).

    Raises:
        ValueError: when the rate table gives the base currency a rate other than 1.

    """

    def __init__(
        self, settings: ContractSettings, now_ms: Callable[[], int], typed_bets: bool = True
    ) -> None:
        base = settings.base_currency
        base_rate = settings.rates.get(base, 1.0)
        if base_rate != 1.0:
            raise ValueError(
                f"contract.rates.{base} is {base_rate}, but the base currency's rate must be 1.0"
            )
        self.settings = settings
        self.now_ms = now_ms
        self._rates = {**settings.rates, base: 1.0}
        self._max_amount = settings.max_amount
        self._max_bytes = settings.max_message_bytes
        self._skew_ms = settings.max_future_skew_s * 1_000
        self._horizon_ms = MIN_TS_MS - 1  # no clock reading yet
        self._jurisdiction = settings.default_jurisdiction
        self._read_event_time = EventTimeReader().read
        self._decode_bet = BetDecoder(self._rates, self._max_amount, self._jurisdiction,
                                      self._read_event_time).decode if typed_bets else None
        self._builders: dict[str, Callable[[dict[str, Any], _Common], Event]] = {
            "bet": self._bet,
            "bet_settled": self._bet_settled,
            "deposit": self._deposit,
            "withdrawal": self._withdrawal,
            "bonus_claim": self._bonus_claim,
            "session_start": _session_start,
            "session_end": _session_end,
            "limit_set": self._limit_set,
            "self_exclusion": _self_exclusion,
            "consent": _consent,
            "chargeback": self._chargeback,
            "fraud_confirmed": _fraud_verdict,
            "fraud_cleared": _fraud_verdict,
            "rg_assessment": _rg_assessment,
            "review_decision": _review_decision,
        }

    def parse(self, raw: bytes, source: str, position: int) -> Event | DeadLetter:
        """Turn one raw message into an event, or a dead letter saying why not.

        Args:
            raw: the message value, one UTF-8 JSON object.
            source: where it came from (topic and partition, or a file), kept in dead letters.
            position: its offset or line number in `source`, kept in dead letters.

        Returns:
            The typed event, or a `DeadLetter` with a reason from `PARSER_REASONS`.

        """
        if len(raw) > self._max_bytes:
            detail = f"{len(raw)} bytes > {self._max_bytes}"
            return _dead_letter(_Rejected(TOO_LARGE, None, detail), None, raw, source, position)
        if self._decode_bet is not None and BET_MARK in raw:  # pitboss.operators.bet_decoder
            bet = self._decode_bet(raw, self._horizon_ms)
            if bet is not None:
                return bet
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            reason = TOO_DEEP if str(exc).startswith("depth limit") else MALFORMED_JSON
            return _dead_letter(_Rejected(reason, None, str(exc)), None, raw, source, position)
        if type(obj) is not dict:
            rejected = _Rejected(NOT_AN_OBJECT, None, f"JSON {type(obj).__name__}, not an object")
            return _dead_letter(rejected, None, raw, source, position)
        event_type: Any = obj.get("event_type")  # any JSON value until checked
        build = self._builders.get(event_type) if type(event_type) is str else None
        try:
            if build is None:
                raise _bad_event_type(obj, event_type)
            return build(obj, self._common(obj, event_type))
        except _Rejected as rejected:
            return _dead_letter(rejected, obj, raw, source, position)

    def _common(self, obj: dict[str, Any], event_type: str) -> _Common:
        """Read the fields every event has, in `Event`'s field order.

        Every message passes through here, so the checks are written out inline
        (a Python call costs about as much as a check).
        """
        event_id = obj.get("event_id")
        if type(event_id) is not str or not 0 < len(event_id) <= MAX_EVENT_ID_CHARS:
            raise _wrong(obj, "event_id", f"a string of 1..{MAX_EVENT_ID_CHARS} characters")
        player_id = obj.get("player_id")
        if type(player_id) is not str or not 0 < len(player_id) <= MAX_PLAYER_ID_CHARS:
            raise _wrong(obj, "player_id", f"a string of 1..{MAX_PLAYER_ID_CHARS} characters")
        ts: Any = obj.get("ts")  # any JSON value until checked
        if type(ts) is str:
            ts_ms = self._read_event_time(ts)
            if ts_ms is None:
                raise _bad_event_time(obj)
        elif type(ts) is int and MIN_TS_MS <= ts <= MAX_TS_MS:
            ts_ms = ts
        else:
            raise _bad_event_time(obj)
        if ts_ms > self._horizon_ms:
            self._not_in_future(ts_ms)
        jurisdiction = obj.get("jurisdiction")
        if jurisdiction is None:
            jurisdiction = self._jurisdiction
        elif type(jurisdiction) is not str or not 0 < len(jurisdiction) <= MAX_JURISDICTION_CHARS:
            raise _Rejected(INVALID_FIELD, "jurisdiction", "jurisdiction must be a short code")
        channel = obj.get("channel")
        if channel is not None and (type(channel) is not str or channel not in CHANNELS):
            raise _Rejected(INVALID_FIELD, "channel", "channel must be web, mobile or retail")
        return (event_id, event_type, player_id, ts_ms, jurisdiction, channel)

    def _not_in_future(self, ts_ms: int) -> None:
        """Reject `ts_ms` beyond the wall clock plus the allowed skew.

        The clock is read only when a timestamp passes the horizon of the last
        reading: under a clock that never goes back, the answer is the same as
        reading it for every message, at a fraction of the cost.
        """
        now_ms = self.now_ms()
        self._horizon_ms = now_ms + self._skew_ms
        if ts_ms > self._horizon_ms:
            raise _Rejected(
                FUTURE_TIMESTAMP, "ts", f"ts is {ts_ms - now_ms} ms ahead of the wall clock"
            )

    def _rate(self, obj: dict[str, Any], name: str = "currency") -> float:
        """Look up the conversion rate of a required currency field."""
        code = obj.get(name)
        if type(code) is str:
            rate = self._rates.get(code)
            if rate is not None:
                return rate
            raise _Rejected(UNKNOWN_CURRENCY, name, f"{code!r} is not in contract.rates")
        raise _wrong(obj, name, "an ISO 4217 code such as EUR")

    def _optional_rate(self, obj: dict[str, Any]) -> float:
        """Look up an optional `currency`; absent or null is the base currency (rate 1)."""
        return 1.0 if obj.get("currency") is None else self._rate(obj)

    def _in_base(self, name: str, amount: float, rate: float) -> float:
        """Convert `amount` to the base currency, rejecting it above `max_amount`."""
        amount_base = amount * rate
        if amount_base <= self._max_amount:
            return amount_base
        raise self._too_much(name, amount_base)

    def _too_much(self, name: str, amount_base: float) -> _Rejected:
        detail = f"{name} is {amount_base} in base currency > max_amount {self._max_amount}"
        return _Rejected(AMOUNT_OUT_OF_RANGE, name, detail)

    def _bet(self, obj: dict[str, Any], common: _Common) -> Bet:
        # The usual bet never comes here (`pitboss.operators.bet_decoder` reads it): this is
        # the path of the rest, which alone decides rejections, so the order of the
        # readers is the order in which a bet's fields are judged.
        stake = _positive(obj, "stake")
        rate = self._rate(obj)
        stake_base = self._in_base("stake", stake, rate)
        bet_id = _optional_text(obj, "bet_id")
        payout_base = None
        if obj.get("payout") is not None:
            payout_base = self._in_base("payout", _non_negative(obj, "payout"), rate)
        elif bet_id is None:
            raise _Rejected(MISSING_FIELD, "bet_id", "an unsettled bet (no payout) needs bet_id")
        bonus_stake_base = (
            0.0 if obj.get("bonus_stake") is None else _bonus_stake(obj, stake) * rate
        )
        game_id = _text(obj, "game_id")
        game_type = _choice(obj, "game_type", GAME_TYPES)
        return Bet(
            *common,
            stake=stake,
            currency=obj["currency"],
            stake_base=stake_base,
            game_id=game_id,
            game_type=game_type,
            session_id=_optional_text(obj, "session_id"),
            payout_base=payout_base,
            bonus_stake_base=bonus_stake_base,
            bet_id=bet_id,
        )

    def _bet_settled(self, obj: dict[str, Any], common: _Common) -> BetSettled:
        payout = _non_negative(obj, "payout")
        rate = self._optional_rate(obj)
        return BetSettled(
            *common,
            bet_id=_text(obj, "bet_id"),
            payout=payout,
            currency=obj.get("currency"),
            payout_base=self._in_base("payout", payout, rate),
        )

    def _deposit(self, obj: dict[str, Any], common: _Common) -> Deposit:
        amount = _positive(obj, "amount")
        rate = self._rate(obj)
        return Deposit(
            *common,
            amount=amount,
            currency=obj["currency"],
            amount_base=self._in_base("amount", amount, rate),
            method=_choice(obj, "method", DEPOSIT_METHODS),
            status=_choice(obj, "status", DEPOSIT_STATUSES),
            instrument_id=_optional_text(obj, "instrument_id"),
            device_id=_optional_text(obj, "device_id"),
        )

    def _withdrawal(self, obj: dict[str, Any], common: _Common) -> Withdrawal:
        amount = _positive(obj, "amount")
        rate = self._rate(obj)
        return Withdrawal(
            *common,
            amount=amount,
            currency=obj["currency"],
            amount_base=self._in_base("amount", amount, rate),
            status=_choice(obj, "status", WITHDRAWAL_STATUSES),
        )

    def _bonus_claim(self, obj: dict[str, Any], common: _Common) -> BonusClaim:
        amount = _non_negative(obj, "amount")
        return BonusClaim(
            *common,
            bonus_id=_text(obj, "bonus_id"),
            amount=amount,
            amount_base=self._in_base("amount", amount, self._optional_rate(obj)),
            bonus_type=_choice(obj, "bonus_type", BONUS_TYPES),
        )

    def _limit_set(self, obj: dict[str, Any], common: _Common) -> LimitSet:
        limit_type = _choice(obj, "limit_type", LIMIT_TYPES)
        period = _choice(obj, "period", LIMIT_PERIODS)
        amount = _positive(obj, "amount")
        if limit_type in _MONEY_LIMITS:
            amount = self._in_base("amount", amount, self._optional_rate(obj))
        return LimitSet(*common, limit_type=limit_type, period=period, amount=amount)

    def _chargeback(self, obj: dict[str, Any], common: _Common) -> Chargeback:
        amount = _positive(obj, "amount")
        rate = self._rate(obj)
        return Chargeback(
            *common,
            amount=amount,
            currency=obj["currency"],
            amount_base=self._in_base("amount", amount, rate),
            reference=_optional_text(obj, "reference", MAX_EVENT_ID_CHARS),
        )


def _bad_event_type(obj: dict[str, Any], event_type: object) -> _Rejected:
    """Reject an `event_type` that is absent, not a string, or not in the contract."""
    if type(event_type) is not str:
        return _wrong(obj, "event_type", "a string")
    return _Rejected(UNKNOWN_EVENT_TYPE, "event_type", f"unknown {event_type!r}")


def _bonus_stake(obj: dict[str, Any], stake: float) -> float:
    """Read the part of `stake` paid from bonus funds: >= 0 and at most the stake."""
    bonus_stake = _non_negative(obj, "bonus_stake")
    if bonus_stake > stake:
        raise _Rejected(AMOUNT_OUT_OF_RANGE, "bonus_stake", "bonus_stake exceeds stake")
    return bonus_stake


def _session_start(obj: dict[str, Any], common: _Common) -> SessionStart:
    return SessionStart(
        *common,
        session_id=_text(obj, "session_id"),
        device_id=_optional_text(obj, "device_id"),
        ip_hash=_optional_text(obj, "ip_hash"),
    )


def _session_end(obj: dict[str, Any], common: _Common) -> SessionEnd:
    return SessionEnd(*common, session_id=_text(obj, "session_id"))


def _self_exclusion(obj: dict[str, Any], common: _Common) -> SelfExclusion:
    # Absent `until` is read as indefinite, like null: over-protecting is the safe failure.
    until = obj.get("until")
    until_ms = None if until is None else parse_timestamp(until)
    if until is not None and until_ms is None:
        raise _Rejected(BAD_TIMESTAMP, "until", "until must be RFC 3339 with an offset or null")
    return SelfExclusion(*common, until_ms=until_ms)


def _consent(obj: dict[str, Any], common: _Common) -> Consent:
    marketing = obj.get("marketing")
    if type(marketing) is not bool:
        raise _wrong(obj, "marketing", "true or false")
    return Consent(*common, marketing=marketing)


def _fraud_verdict(obj: dict[str, Any], common: _Common) -> FraudVerdict:
    return FraudVerdict(*common, case_id=_optional_text(obj, "case_id"))


def _rg_assessment(obj: dict[str, Any], common: _Common) -> RgAssessment:
    return RgAssessment(*common, outcome=_choice(obj, "outcome", RG_OUTCOMES))


def _review_decision(obj: dict[str, Any], common: _Common) -> ReviewDecision:
    return ReviewDecision(
        *common,
        decision_id=_text(obj, "decision_id"),
        verdict=_choice(obj, "verdict", VERDICTS),
        reviewer=_text(obj, "reviewer"),
    )


def _readable_id(obj: dict[str, Any] | None, name: str, max_chars: int) -> str | None:
    """Return `obj[name]` if it is a valid identifier, to label a dead letter."""
    value = None if obj is None else obj.get(name)
    return value if type(value) is str and 0 < len(value) <= max_chars else None


def _dead_letter(
    rejected: _Rejected, obj: dict[str, Any] | None, raw: bytes, source: str, position: int
) -> DeadLetter:
    return DeadLetter(
        reason=rejected.reason,
        field=rejected.field,
        event_id=_readable_id(obj, "event_id", MAX_EVENT_ID_CHARS),
        player_id=_readable_id(obj, "player_id", MAX_PLAYER_ID_CHARS),
        source=source,
        position=position,
        excerpt=raw[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
        detail=rejected.detail,
    )
