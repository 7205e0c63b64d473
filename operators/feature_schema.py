"""The feature schema: each feature's name and its column in a feature row; imports nothing.

A feature row (`pitboss.operators.features.FeatureEngine.snapshot`) is a tuple of
floats in `FEATURE_NAMES` order: every windowed feature for the 1-hour window, then
for the 24-hour and the 7-day windows (`WINDOW_NAMES`, finest first, one per pane
level of `pitboss.operators.panes.LEVELS`), then the player-level features. Whatever
needs a column by name (the models' inputs and rules, the markers of harm, the
policy, the tables) reads it here, without importing the engine that computes it.
Each feature's definition is in docs/features.md.

Example:
    >>> FEATURE_NAMES[FEATURE_INDEX["net_loss_24h"]]
    'net_loss_24h'
    >>> len(FEATURE_NAMES) == len(WINDOW_NAMES) * len(WINDOW_FEATURES) + len(PLAYER_FEATURES)
    True
"""

WINDOW_NAMES: tuple[str, ...] = ("1h", "24h", "7d")
"""The windows' suffixes, finest first: a windowed feature is named `<feature>_<window>`."""

WINDOW_FEATURES: tuple[str, ...] = (
    "bets",
    "stake",
    "net_loss",
    "stake_mean",
    "stake_std",
    "stake_cv",
    "night_share",
    "chase_share",
    "bonus_wager_share",
    "theo_win",
    "sessions",
    "session_minutes",
    "deposits",
    "deposit_amount",
    "declined_deposits",
    "withdrawals_requested",
    "withdrawals_completed",
    "withdrawals_cancelled",
    "withdrawal_amount",
    "bonus_claims",
    "instruments",
    "devices",
)
PLAYER_FEATURES: tuple[str, ...] = (
    "session_bets",
    "session_stake",
    "session_minutes",
    "session_stake_slope",
    "stake_escalation",
    "limits_set",
    "limit_headroom",
    "at_limit",
    "minutes_since_last_activity",
    "frequency_days_7d",
    "monetary_7d",
    "theo_win_lifetime",
    "active_days",
    "adt",
    "lifetime_bets",
    "lifetime_stake",
    "lifetime_net_loss",
    "tenure_days",
    "self_excluded",
    "marketing_consent",
    "session_minutes_vs_usual",
    "session_deposits_vs_usual",
    "baseline_sessions",
    "visit_gap_days",
    "quiet_gaps",
    "frequency_trend",
    "quiet_spreads",
    "stake_shift",
)
FEATURE_NAMES: tuple[str, ...] = tuple(
    f"{name}_{window}" for window in WINDOW_NAMES for name in WINDOW_FEATURES
) + PLAYER_FEATURES
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
