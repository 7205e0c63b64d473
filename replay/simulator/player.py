"""One simulated player: their events over the window, lazily and in event-time order.

`PlayerSimulation.events` is a generator that plays the player's profile (see
`pitboss.replay.simulator.archetypes`) day by day: which days they play, when their sessions start
on the local clock, and inside a session their deposits, bets, withdrawals and
limits. Events that happen later than the moment they are decided (a sports bet
settled hours later, a withdrawal completed the next day, a chargeback, a label
from the risk teams) wait in a small per-player heap and come out in time order.

The player's state is a handful of numbers, the heap and the generator's frame,
so ten thousand players can be merged at once in bounded memory. All randomness
comes from the player's own generator, derived from (seed, player index).

Example:
    >>> sim = PlayerSimulation(seed=3, index=5, start_ms=1_767_571_200_000, days=2)
    >>> times = [ts for ts, *_ in sim.events()]
    >>> times == sorted(times)
    True

"""

from __future__ import annotations

import heapq
import random
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pitboss.replay.simulator.archetypes import (
    CHURNER,
    DAY_MS,
    FRAUDSTER,
    HARMED,
    HOUR_MS,
    RECREATIONAL,
    VIP,
    PlayerProfile,
    draw_profile,
    pick,
    player_rng,
)
from pitboss.replay.simulator.delivery import Item, format_rfc3339
from pitboss.replay.simulator.games import GAME_IDS, SECONDS_PER_BET, payout_multiplier
from pitboss.replay.simulator.population import DEFAULT, Population

MINUTE_MS = 60_000
NIGHT_HOURS = range(0, 6)
DAY_CURVE = (0.15, 0.06, 0.03, 0.02, 0.02, 0.04, 0.15, 0.3, 0.4, 0.45, 0.5, 0.6,
             0.7, 0.65, 0.6, 0.65, 0.75, 0.95, 1.3, 1.6, 1.8, 1.6, 1.1, 0.5)
"""Relative chance of a session starting in each local hour (evening peak)."""
MIN_SESSION_MS = 5 * MINUTE_MS
"""No session starts closer than this to a stop (churn, exclusion, end of window)."""
MAX_CHASE = 6.0
"""A loss-chasing player raises the stake up to this multiple of their typical stake."""
UNSETTLED_SPORTS_SHARE = 0.25
SESSION_WITHOUT_END_SHARE = 0.03
DEPOSIT_METHODS = (("card", 0.55), ("ewallet", 0.25), ("bank_transfer", 0.12),
                   ("voucher", 0.05), ("crypto", 0.03))
_zones: dict[str, ZoneInfo] = {}
_offsets: dict[tuple[str, int], int] = {}


def utc_offset_ms(zone_name: str, day_ms: int) -> int:
    """Return the UTC offset of an IANA zone at noon UTC of the day starting at `day_ms`."""
    key = (zone_name, day_ms)
    offset = _offsets.get(key)
    if offset is None:
        zone = _zones.setdefault(zone_name, ZoneInfo(zone_name))
        moment = datetime.fromtimestamp((day_ms + 12 * HOUR_MS) / 1000, tz=UTC).astimezone(zone)
        delta = moment.utcoffset()
        offset = 0 if delta is None else int(delta.total_seconds()) * 1000
        if len(_offsets) < 100_000:
            _offsets[key] = offset
    return offset


def night_curve(boost: float) -> tuple[float, ...]:
    """Return `DAY_CURVE` with night hours weighted `boost` times more (a harmed player's day)."""
    return tuple(w * boost if h in NIGHT_HOURS else w for h, w in enumerate(DAY_CURVE))


def _hour(rng: random.Random, curve: tuple[float, ...]) -> int:
    u = rng.random() * sum(curve)
    for hour, weight in enumerate(curve):
        u -= weight
        if u < 0:
            return hour
    return 23


class PlayerSimulation:
    """Generate one player's events over `days` days from `start_ms`.

    Args:
        seed: the simulation's seed.
        index: the player's number; with `seed` it fixes every random draw.
        start_ms: start of the window (epoch ms); nothing happens before it.
        days: length of the window; nothing is emitted at or after its end.
        players: the simulation's size, which sizes fraud rings.
        population: the archetypes' shapes (`pitboss.replay.simulator.population`); the default
            population gives the historic simulator's output.

    The realised moments (`exclusion_ms`, `harm_confirmed_ms`, ...) are filled in
    as the generator runs; read them through `truth()` once it is exhausted.

    """

    def __init__(
        self,
        seed: int,
        index: int,
        start_ms: int,
        days: int,
        players: int = 1,
        population: Population = DEFAULT,
    ) -> None:
        self.rng = player_rng(seed, index)
        self.end_ms = start_ms + days * DAY_MS
        self.population = population
        self.profile: PlayerProfile = draw_profile(
            self.rng, index, start_ms, self.end_ms, players, population)
        p = self.profile
        harm = population.harm
        self._harm_ramp_ms = int(harm.ramp_days * DAY_MS)
        self._harm_from = harm.onset_strength if harm.onset == "abrupt" else 0.0
        # A play is harmful once the markers are as strong as an abrupt onset starts them:
        # right after onset when abrupt, part-way up the ramp when gradual.
        self._harmful_at = harm.onset_strength * harm.amplitude
        self._night_curve = night_curve(harm.night_boost)
        self._stake_noise = population.stakes.noise
        self.start_ms = start_ms
        self.seed = seed
        self._prefix = f"{seed}-{index}-"
        self._cpe = p.jurisdiction.currency_per_eur
        self._seq = 0
        self._sessions = 0
        self._pending: list[Item] = []
        self._hard_stop = p.churn_ms if p.churn_ms is not None else self.end_ms
        self._busy_until = start_ms
        self.balance = 0.0
        self.bonus = 0.0
        self.last_deposit = 0.0
        self.limit_set = False
        self.devices = [f"d-{seed}-{index}-{k}" for k in range(1 + (self.rng.random() < 0.3))]
        self.instruments = [f"i-{seed}-{index}-{k}" for k in range(1 + (self.rng.random() < 0.2))]
        self.method = pick(self.rng, DEPOSIT_METHODS)
        self.ip_hash = f"ip-{self.rng.getrandbits(48):012x}"
        self.last_event_ms: int | None = None
        self.exclusion_ms: int | None = None
        self.harm_confirmed_ms: int | None = None
        self.fraud_confirmed_ms: int | None = None
        self.first_withdrawal_completed_ms: int | None = None
        self.first_deposit_ms: int | None = None
        self.first_harmful_play_ms: int | None = None
        self.first_harmful_session: str | None = None
        self.first_harmful_session_end_ms: int | None = None
        self.marketing_consent_ms: int | None = None

    # ---- output -------------------------------------------------------------------------

    def events(self) -> Iterator[Item]:
        """Yield the player's events as `(ts_ms, index, n, body)`, in event-time order."""
        pending = self._pending
        end_ms = self.end_ms
        for item in self._timeline():
            if item[0] >= end_ms:
                break
            while pending and pending[0][0] <= item[0]:
                yield self._emitted(heapq.heappop(pending))
            self.last_event_ms = item[0]
            yield item
        while pending:
            yield self._emitted(heapq.heappop(pending))

    def _emitted(self, item: Item) -> Item:
        self.last_event_ms = item[0]
        return item

    def _event(
        self, ts: int, event_type: str, fields: dict[str, Any], channel: bool = True
    ) -> Item:
        """Build one event of this player; `channel=False` for outcomes from the back office."""
        n = self._seq
        self._seq = n + 1
        p = self.profile
        body: dict[str, Any] = {
            "event_id": f"{self._prefix}{n}",
            "event_type": event_type,
            "player_id": p.player_id,
            "ts": ts,
            "jurisdiction": p.jurisdiction.code,
        }
        if channel:
            body["channel"] = p.channel
        body.update(fields)
        return (ts, p.index, n, body)

    def _later(self, item: Item) -> None:
        """Keep an event decided now for the time it happens, if that is inside the window."""
        if item[0] < self._hard_stop:
            heapq.heappush(self._pending, item)

    def _money(self, amount_eur: float) -> float:
        """Convert EUR to the player's currency, rounded to cents."""
        return round(amount_eur * self._cpe, 2)

    # ---- the timeline -------------------------------------------------------------------

    def _timeline(self) -> Iterator[Item]:
        self._plan_labels()
        if self.profile.archetype == FRAUDSTER:
            yield from self._fraud()
            return
        p = self.profile
        stop = min(self._hard_stop, p.exclusion_ms if p.exclusion_ms is not None else self.end_ms)
        day_ms = self.start_ms
        while day_ms < stop:
            midnight = day_ms - utc_offset_ms(p.jurisdiction.zone, day_ms)
            if self._plays_on(midnight):
                for start in self._session_starts(midnight):
                    gap = self.rng.randrange(5 * MINUTE_MS, 90 * MINUTE_MS)
                    start = max(start, self._busy_until + gap)
                    if start >= stop - MIN_SESSION_MS:
                        break
                    yield from self._session(start, stop)
            day_ms += DAY_MS
        if p.exclusion_ms is not None and p.exclusion_ms < self.end_ms:
            yield from self._self_exclusion(max(p.exclusion_ms, self._busy_until + MINUTE_MS))

    def _harm(self, ts: int) -> float:
        """Strength of the markers of harm at `ts`: 0 before onset, ramping up to the amplitude.

        An abrupt onset starts at `harm.onset_strength`, a gradual one at 0; both reach
        full strength `harm.ramp_days` later.
        """
        onset = self.profile.onset_ms
        if onset is None or ts < onset:
            return 0.0
        strength = min(1.0, self._harm_from + (ts - onset) / self._harm_ramp_ms)
        return strength * self.population.harm.amplitude

    def _harm_day(self, midnight: int) -> float:
        """How far the day starting at `midnight` follows a harmed player's pattern, 0 to 1.

        After an abrupt onset every day does, to the degree of the amplitude; after a
        gradual one, to the degree of the markers' strength that day.
        """
        harm = self._harm(midnight)
        if harm <= 0 or self.population.harm.onset == "gradual":
            return harm
        return self.population.harm.amplitude

    def _plays_on(self, midnight: int) -> bool:
        """Whether the player plays on the local day starting at `midnight`."""
        p = self.profile
        population = self.population
        chance = p.activity
        harm_day = self._harm_day(midnight)
        if harm_day > 0:
            high = population.harm.play_chance
            chance = high if harm_day >= 1.0 else chance + (high - chance) * harm_day
        elif p.archetype == CHURNER and p.churn_ms is not None:
            chance *= self._fade(midnight, p.churn_ms)
        jitter = population.frequency.daily_jitter
        if jitter > 0:
            chance *= self.rng.lognormvariate(0.0, jitter)
        return self.rng.random() < chance

    def _fade(self, midnight: int, churn_ms: int) -> float:
        """Factor on a churner's daily chance of playing: 1 far from churn, 0 at churn."""
        churn = self.population.churn
        if churn.fade_days > 0:
            fade = min(1.0, max(0.0, (churn_ms - midnight) / (churn.fade_days * DAY_MS)))
        else:
            fade = max(0.0, (churn_ms - midnight) / (churn_ms - self.start_ms))
        return fade if churn.fade_power == 1.0 else fade**churn.fade_power

    def _session_starts(self, midnight: int) -> list[int]:
        """Session start times on the local day starting at `midnight` (UTC epoch ms).

        The day's pattern follows the player's state at midnight, so nothing before
        the onset of harm already shows its markers.
        """
        rng = self.rng
        harm_day = self._harm_day(midnight)
        harmed = harm_day >= 1.0 or (harm_day > 0 and rng.random() < harm_day)
        count = rng.randint(2, 4) if harmed else 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        curve = self._night_curve if harmed else DAY_CURVE
        return sorted(
            midnight + _hour(rng, curve) * HOUR_MS + rng.randrange(HOUR_MS) for _ in range(count)
        )

    # ---- a session ----------------------------------------------------------------------

    def _session(self, start: int, stop: int) -> Iterator[Item]:
        rng = self.rng
        harm = self._harm(start)
        session_id = f"{self._prefix}s{self._sessions}"
        self._sessions += 1
        device = self.devices[rng.randrange(len(self.devices))]
        yield self._event(start, "session_start",
                          {"session_id": session_id, "device_id": device, "ip_hash": self.ip_hash})
        t = start + rng.randint(2, 40) * 1000
        if self._sessions == 1:
            t, consent = self._first_session(t)
            yield from consent
        if harm > 0 and not self.limit_set and rng.random() < 0.1:
            t += rng.randint(5, 60) * 1000
            yield self._limit(t, "time", "day", float(rng.choice((60, 120, 180))))
        end = min(start + self._session_length(harm), stop - 1)
        t = yield from self._play(t, end, session_id, device, harm)
        self._busy_until = t
        if rng.random() >= SESSION_WITHOUT_END_SHARE:
            self._busy_until = t = min(t + rng.randint(5, 120) * 1000, stop - 1)
            yield self._event(t, "session_end", {"session_id": session_id})
        if self.first_harmful_session == session_id:
            self.first_harmful_session_end_ms = t

    def _first_session(self, t: int) -> tuple[int, list[Item]]:
        """Consent and an occasional deposit limit, set when the account is first used."""
        rng = self.rng
        events = self._consent(t)
        if self.profile.archetype in (RECREATIONAL, VIP) and rng.random() < 0.05:
            t += rng.randint(5, 60) * 1000
            amount = self._money(self.profile.base_stake_eur * rng.choice((50, 100, 200)))
            events.append(self._limit(t, "deposit", "week", amount))
        return t, events

    def _consent(self, t: int) -> list[Item]:
        """Return the marketing choice made on first use: always for those who refuse."""
        refuses = self.profile.refuses_marketing
        if refuses or self.rng.random() < 0.3:
            if not refuses and self.marketing_consent_ms is None and t < self.end_ms:
                self.marketing_consent_ms = t
            return [self._event(t, "consent", {"marketing": not refuses})]
        return []

    def _limit(self, t: int, limit_type: str, period: str, amount: float) -> Item:
        self.limit_set = True
        fields: dict[str, Any] = {"limit_type": limit_type, "period": period, "amount": amount}
        if limit_type != "time":
            fields["currency"] = self.profile.jurisdiction.currency
        return self._event(t, "limit_set", fields)

    def _session_length(self, harm: float) -> int:
        median_minutes = {VIP: 40.0}.get(self.profile.archetype, 18.0) * (1 + 3 * harm)
        return int(median_minutes * self.rng.lognormvariate(0.0, 0.6) * MINUTE_MS)

    def _play(
        self, t: int, end: int, session_id: str, device: str, harm: float
    ) -> Generator[Item, None, int]:
        """Bets until `end` or until the money runs out; returns the time of the last event."""
        rng = self.rng
        p = self.profile
        game_type = pick(rng, p.games)
        game_id = GAME_IDS[game_type][rng.randrange(len(GAME_IDS[game_type]))]
        mean_gap_ms = SECONDS_PER_BET[game_type] * 1000
        typical_eur = p.base_stake_eur * (1.0 + 2.0 * harm)
        stake_eur = typical_eur
        lost_last = False
        deposits = 0
        max_deposits = 1 + int(5 * harm) + (rng.random() < 0.3)
        cancel_at: int | None = None
        requested = 0.0
        last = t
        while t < end:
            chasing = harm > 0 and lost_last and rng.random() < 0.35 + 0.4 * harm
            if chasing:
                stake_eur = min(stake_eur * rng.uniform(1.4, 2.0), typical_eur * MAX_CHASE)
            else:
                stake_eur = typical_eur * rng.lognormvariate(0.0, self._stake_noise)
            stake = max(self._money(stake_eur), 0.1)
            if stake > self.balance + self.bonus:
                if deposits >= max_deposits:
                    break
                deposits += 1
                t = last = yield from self._deposit(t, end, device, harm, stake)
                if stake > self.balance + self.bonus or t >= end:
                    break
            bet, won = self._bet(t, session_id, game_type, game_id, stake)
            yield bet
            if harm > 0 and harm >= self._harmful_at and self.first_harmful_play_ms is None:
                self.first_harmful_play_ms, self.first_harmful_session = t, session_id
            lost_last = not won
            last = t
            if cancel_at is not None and t >= cancel_at:
                yield self._withdrawal(t, requested, "cancelled")
                self.balance += requested
                cancel_at, requested = None, 0.0
            elif requested == 0 and self.balance > 3 * max(self.last_deposit, 10 * stake):
                requested = round(self.balance * rng.uniform(0.5, 0.9), 2)
                self.balance -= requested
                yield self._withdrawal(t, requested, "requested")
                if rng.random() < 0.7 * harm:
                    cancel_at = t + rng.randint(1, 15) * MINUTE_MS
                else:
                    end = min(end, t + rng.randint(1, 10) * MINUTE_MS)
            t += 1000 + int(rng.expovariate(1.0) * mean_gap_ms)
        if requested and cancel_at is None:
            self._complete_withdrawal(last, requested)
        return last

    def _bet(
        self, t: int, session_id: str, game_type: str, game_id: str, stake: float
    ) -> tuple[Item, bool]:
        """One wager, settled inline unless it is a sports bet settled later."""
        rng = self.rng
        bonus_stake = min(stake, self.bonus)
        self.bonus -= bonus_stake
        self.balance -= stake - bonus_stake
        payout = round(stake * payout_multiplier(rng, game_type), 2)
        self.balance += payout
        p = self.profile
        n = self._seq
        self._seq = n + 1
        fields: dict[str, Any] = {
            "event_id": f"{self._prefix}{n}",
            "event_type": "bet",
            "player_id": p.player_id,
            "ts": t,
            "jurisdiction": p.jurisdiction.code,
            "channel": p.channel,
            "stake": stake,
            "currency": p.jurisdiction.currency,
            "game_id": game_id,
            "game_type": game_type,
            "session_id": session_id,
            "payout": payout,
        }
        if bonus_stake > 0:
            fields["bonus_stake"] = round(bonus_stake, 2)
        item = (t, p.index, n, fields)
        if game_type == "sports" and rng.random() < UNSETTLED_SPORTS_SHARE:
            bet_id = f"{self._prefix}b{item[2]}"
            fields["payout"] = None
            fields["bet_id"] = bet_id
            settled_at = t + rng.randint(20, 8 * 60) * MINUTE_MS
            self._later(self._event(settled_at, "bet_settled", {
                "bet_id": bet_id, "payout": payout, "currency": self.profile.jurisdiction.currency,
            }, channel=False))
        return item, payout >= stake

    def _deposit(
        self, t: int, end: int, device: str, harm: float, stake: float
    ) -> Generator[Item, None, int]:
        """Deposit attempts until one is approved (harmed players retry declines)."""
        rng = self.rng
        p = self.profile
        amount_eur = max(10.0, p.base_stake_eur * rng.uniform(15, 40) * (1 + 2 * harm))
        amount = max(round(amount_eur * self._cpe), round(stake * 5))
        attempts = 1 + int(3 * harm)
        for _ in range(attempts):
            t = min(t + rng.randint(10, 90) * 1000, end)
            approved = rng.random() >= 0.03 + 0.25 * harm
            yield self._event(t, "deposit", {
                "amount": float(amount),
                "currency": p.jurisdiction.currency,
                "method": self.method,
                "status": "approved" if approved else "declined",
                "instrument_id": self.instruments[rng.randrange(len(self.instruments))],
                "device_id": device,
            })
            if approved:
                self.balance += amount
                self.last_deposit = amount
                yield from self._maybe_bonus(t, amount)
                break
        return t

    def _maybe_bonus(self, t: int, deposit: float) -> Iterator[Item]:
        rng = self.rng
        if rng.random() < 0.04:
            bonus = round(min(deposit, 100 * self._cpe), 2)
            self.bonus += bonus
            yield self._event(t, "bonus_claim", {
                "bonus_id": f"bonus-{rng.choice(('welcome', 'reload', 'weekend'))}",
                "amount": bonus,
                "bonus_type": rng.choice(("deposit_match", "free_spins")),
                "currency": self.profile.jurisdiction.currency,
            })

    def _withdrawal(self, t: int, amount: float, status: str) -> Item:
        return self._event(t, "withdrawal", {
            "amount": amount, "currency": self.profile.jurisdiction.currency, "status": status,
        })

    def _complete_withdrawal(self, t: int, amount: float) -> int:
        done = t + self.rng.randint(1, 24) * HOUR_MS + self.rng.randrange(HOUR_MS)
        self._later(self._withdrawal(done, amount, "completed"))
        return done

    def _self_exclusion(self, t: int) -> Iterator[Item]:
        p = self.profile
        session_id = f"{self._prefix}s{self._sessions}"
        self._sessions += 1
        yield self._event(t, "session_start", {
            "session_id": session_id, "device_id": self.devices[0], "ip_hash": self.ip_hash,
        })
        t += self.rng.randint(30, 180) * 1000
        if self._sessions == 1:
            yield from self._consent(t)
        until = None if p.exclusion_until_ms is None else format_rfc3339(p.exclusion_until_ms)
        self.exclusion_ms = t
        yield self._event(t, "self_exclusion", {"until": until})
        yield self._event(t + 2000, "session_end", {"session_id": session_id})

    # ---- labels from the back office ----------------------------------------------------

    def _plan_labels(self) -> None:
        """Schedule rg/fraud verdicts: true labels for harmed players, negatives for others."""
        p, rng, labels = self.profile, self.rng, self.population.labels
        span = self.end_ms - self.start_ms
        harmed = p.archetype == HARMED and p.onset_ms is not None
        if harmed and rng.random() < labels.harm_confirmed_share:
            at = (p.onset_ms or 0) + int(rng.uniform(*labels.harm_confirmed_delay_days) * DAY_MS)
            if at < self.end_ms:
                self.harm_confirmed_ms = at
                self._later(self._rg(at, "harm_confirmed"))
        if p.archetype in (HARMED, FRAUDSTER):
            return
        vip = p.archetype == VIP
        if rng.random() < (labels.vip_no_concern_share if vip else labels.no_concern_share):
            self._later(self._rg(self.start_ms + int(rng.random() * span), "no_concern"))
        if rng.random() < (labels.vip_fraud_cleared_share if vip else labels.fraud_cleared_share):
            at = self.start_ms + int(rng.random() * span)
            self._later(self._event(at, "fraud_cleared", {"case_id": f"case-{self._prefix}c"},
                                    channel=False))

    def _rg(self, t: int, outcome: str) -> Item:
        return self._event(t, "rg_assessment", {"outcome": outcome}, channel=False)

    # ---- fraud --------------------------------------------------------------------------

    def _fraud(self) -> Iterator[Item]:
        """One burst: card testing, a bonus, minimal low-edge play, a fast cash-out."""
        p, rng = self.profile, self.rng
        t = p.fraud_start_ms if p.fraud_start_ms is not None else self.start_ms
        ring_device = f"d-{self.seed}-ring{p.fraud_ring}-{rng.randrange(2)}"
        session_id = f"{self._prefix}s0"
        self._sessions = 1
        yield self._event(t, "session_start", {"session_id": session_id, "device_id": ring_device,
                                               "ip_hash": f"ip-ring-{self.seed}-{p.fraud_ring}"})
        yield from self._consent(t + 1000)
        approved: list[tuple[int, str, float]] = []
        cards = [f"i-{self.seed}-{p.index}-{k}" for k in range(rng.randint(2, 4))]
        for k, card in enumerate(cards):
            t += rng.randint(20, 120) * 1000
            item = self._fraud_deposit(t, card, ring_device, last=k == len(cards) - 1)
            yield item
            if item[3]["status"] == "approved":
                approved.append((t, item[3]["event_id"], item[3]["amount"]))
        t = yield from self._fraud_play(t + rng.randint(30, 120) * 1000, session_id)
        yield self._event(t, "session_end", {"session_id": session_id})
        self.first_deposit_ms = approved[0][0]
        yield from self._cash_out(max(t, approved[0][0] + rng.randint(20, 180) * MINUTE_MS))
        self._plan_fraud_outcomes(approved)

    def _fraud_deposit(self, t: int, card: str, device: str, last: bool) -> Item:
        """Deposit on a (possibly stolen) card; all but the last card may be declined."""
        rng = self.rng
        approved = last or rng.random() < 0.5
        amount = float(round(rng.uniform(50, 300) * self._cpe))
        if approved:
            self.balance += amount
        return self._event(t, "deposit", {
            "amount": amount,
            "currency": self.profile.jurisdiction.currency,
            "method": "card" if rng.random() < 0.8 else "ewallet",
            "status": "approved" if approved else "declined",
            "instrument_id": card,
            "device_id": device,
        })

    def _fraud_play(self, t: int, session_id: str) -> Generator[Item, None, int]:
        """Claim a bonus, then wager the minimum on low-edge tables at small stakes."""
        rng = self.rng
        self.bonus = round(min(self.balance, 200 * self._cpe), 2)
        yield self._event(t, "bonus_claim", {
            "bonus_id": "bonus-welcome", "amount": self.bonus, "bonus_type": "deposit_match",
            "currency": self.profile.jurisdiction.currency,
        })
        game_type = pick(rng, self.profile.games)
        game_id = GAME_IDS[game_type][0]
        for _ in range(rng.randint(5, 20)):
            t += 5_000 + int(rng.expovariate(1.0) * 40_000)
            stake = max(self._money(rng.uniform(1.0, 5.0)), 0.1)
            yield self._bet(t, session_id, game_type, game_id, stake)[0]
        return t + rng.randint(10, 60) * 1000

    def _cash_out(self, t: int) -> Iterator[Item]:
        """Withdraw everything at once; the completion comes hours later."""
        amount = round(max(self.balance, 1.0), 2)
        self.balance = 0.0
        yield self._withdrawal(t, amount, "requested")
        done = self._complete_withdrawal(t, amount)
        if done < self.end_ms:
            self.first_withdrawal_completed_ms = done

    def _plan_fraud_outcomes(self, approved: list[tuple[int, str, float]]) -> None:
        """Chargebacks for stolen cards days later; a confirmed fraud case for most."""
        p, rng = self.profile, self.rng
        if p.chargebacks:
            for deposit_ms, deposit_id, amount in approved:
                at = deposit_ms + int(rng.uniform(3, 12) * DAY_MS)
                self._later(self._event(at, "chargeback", {
                    "amount": amount, "currency": p.jurisdiction.currency, "reference": deposit_id,
                }, channel=False))
        labels = self.population.labels
        if rng.random() < labels.fraud_confirmed_share:
            at = approved[0][0] + int(rng.uniform(*labels.fraud_confirmed_delay_days) * DAY_MS)
            if at < self.end_ms:
                self.fraud_confirmed_ms = at
            self._later(self._event(at, "fraud_confirmed", {"case_id": f"case-{self._prefix}f"},
                                    channel=False))

    # ---- truth --------------------------------------------------------------------------

    def truth(self) -> dict[str, Any]:
        """Return what really happened to this player, for evaluating models and policies."""
        p = self.profile
        return {
            "player_id": p.player_id,
            "index": p.index,
            "archetype": p.archetype,
            "jurisdiction": p.jurisdiction.code,
            "currency": p.jurisdiction.currency,
            "refuses_marketing": p.refuses_marketing,
            "marketing_consent_ms": self.marketing_consent_ms,
            "onset_ms": p.onset_ms,
            "harm_confirmed_ms": self.harm_confirmed_ms,
            "exclusion_ms": self.exclusion_ms,
            "exclusion_until_ms": p.exclusion_until_ms if self.exclusion_ms is not None else None,
            "fraud_start_ms": p.fraud_start_ms if self.first_deposit_ms is not None else None,
            "first_withdrawal_completed_ms": self.first_withdrawal_completed_ms,
            "fraud_confirmed_ms": self.fraud_confirmed_ms,
            "churn_ms": p.churn_ms,
            "last_event_ms": self.last_event_ms,
            "first_harmful_play_ms": self.first_harmful_play_ms,
            "first_harmful_session": self.first_harmful_session,
            "first_harmful_session_end_ms": self.first_harmful_session_end_ms,
        }
