"""Validated configuration: defaults from `config/defaults.toml`, a user file, then environment.

Configuration is data. `load_settings` merges the packaged defaults, an optional
TOML file given with `--config` (any subset of the same layout) and environment
variables named `PITBOSS_<SECTION>__<FIELD>`, then validates the result once at
start-up. A bad value stops the program with an error naming the file or the
environment variable that set it, and the field (`pitboss.config.sources`); an unknown
section or a misspelt field is an error too, with the nearest known name.
docs/configuration.md lists every field; `python -m pitboss.config_reference` writes it from the
`Field(description=...)` of these models.

Example:
    >>> s = load_settings()
    >>> s.contract.base_currency, s.features.allowed_lateness_s
    ('EUR', 300)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pitboss.config.kafka import KafkaSettings
from pitboss.config.models import ModelSettings
from pitboss.config.section import Section
from pitboss.config.sources import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    ConfigSources,
    did_you_mean,
    environment_paths,
    field_names_at,
)
from pitboss.config.toml_file import deep_merge, read_toml

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


class ConfigError(ValueError):
    """A configuration file or variable failed validation; the message names file and field."""


class ContractSettings(Section):
    """Event contract v1: currencies, limits and the future-timestamp rule."""

    base_currency: str = Field(
        "EUR", description="Currency every amount is converted to (ISO 4217 code).")
    default_jurisdiction: str = Field(
        "UK", description="Jurisdiction of an event that names none.")
    max_amount: float = Field(
        1_000_000.0, gt=0,
        description="Largest amount accepted, in the base currency; larger ones are rejected.")
    max_future_skew_s: int = Field(
        300, ge=0,
        description="An event timestamp later than the wall clock plus this many seconds is "
        "rejected (`future_timestamp`).")
    max_message_bytes: int = Field(
        1_048_576, gt=0, description="Largest raw message accepted, in bytes (1 MiB).")
    rates: dict[str, float] = Field(
        default_factory=lambda: {"EUR": 1.0},
        description="Units of the base currency per one unit of each currency (ISO 4217 "
        "codes); the base currency's rate is 1.0.")

    @field_validator("rates")
    @classmethod
    def _rates_are_iso_and_positive(cls, rates: dict[str, float]) -> dict[str, float]:
        for code, rate in rates.items():
            if len(code) != 3 or not code.isascii() or not code.isupper() or not code.isalpha():
                raise ValueError(f"currency {code!r} is not an ISO 4217 code")
            if not rate > 0:
                raise ValueError(f"rate for {code} must be > 0")
        return rates

    @model_validator(mode="after")
    def _base_currency_rate_is_one(self) -> ContractSettings:
        rate = self.rates.get(self.base_currency, 1.0)
        if rate != 1.0:
            raise ValueError(
                f"rates.{self.base_currency} must be 1.0 (the base currency), not {rate}"
            )
        return self


class FeatureSettings(Section):
    """Per-player state: sharding, lateness, sessions, windows and player worth."""

    shards: int = Field(
        16, ge=1, le=4096,
        description="Fixed key space of per-player state; the upper bound on useful workers.")
    allowed_lateness_s: int = Field(
        300, ge=0,
        description="Per player: an event older than this behind the player's latest is "
        "dead-lettered as `late`.")
    reorder_window_s: int = Field(
        0, ge=0,
        description="The input is merged in event time this far behind its slowest partition "
        "or file: events up to this late within their partition still take their sorted place, "
        "so replay and live agree on displaced input too; every decision waits this long "
        "(docs/operations.md, 'Event time across topics and partitions').")
    dedup_window_s: int = Field(
        300, ge=0,
        description="How long event ids are remembered, in the player's event time (at least "
        "`allowed_lateness_s`: older repeats are `late`).")
    session_timeout_s: int = Field(
        1800, gt=0,
        description="A session with no end event closes after this much inactivity.")
    snapshot_interval_s: int = Field(
        3600, gt=0,
        description="A feature row is written at least this often while a player is active.")
    clock_tick_s: int = Field(
        300, gt=0, description="Idle shards learn event-time progress at least this often.")
    session_score_bets: int = Field(
        25, ge=0,
        description="Within a session, a player is scored at least every this many bets "
        "(0: not by bet count), so that harm is seen in the session it starts in.")
    session_score_interval_s: int = Field(
        600, ge=0,
        description="Within a session, a player is scored at their next bet once this long "
        "has passed since they were last scored (0: not by time).")
    chase_gap_s: int = Field(
        1800, gt=0, description="A raised stake counts as loss chasing only this soon after "
        "a lost bet.")
    chase_stake_spreads: float = Field(
        1.5, gt=0,
        description="A raise after a loss is chasing when it exceeds this many of the "
        "player's own stake spreads (exponentially weighted standard deviation of their "
        "stakes), so ordinary stake noise is not chasing.")
    stake_baseline_bets: int = Field(
        50, ge=1, description="The player's stake mean and spread weigh about this many "
        "recent bets.")
    session_baseline_sessions: int = Field(
        10, ge=1, description="The player's usual session length and deposits per session "
        "weigh about this many recent sessions.")
    night_start_hour: int = Field(
        0, ge=0, le=23, description="Local hour at which night play begins.")
    night_end_hour: int = Field(
        6, ge=0, le=24, description="Local hour at which night play ends.")
    visit_gap_prior_days: float = Field(
        3.0, gt=0,
        description="The gap between days of play assumed for a player before any is seen "
        "(twice a week); it weighs as one gap in the player's averages (`visit_gap_days`).")
    usual_gap_visits: int = Field(
        10, ge=2,
        description="Visits the player's usual gap between days of play remembers "
        "(`visit_gap_days`, `quiet_gaps`).")
    recent_gap_visits: int = Field(
        2, ge=1,
        description="Visits the player's recent gap remembers (`frequency_trend`).")
    house_edge: dict[str, float] = Field(
        default_factory=dict,
        description="House edge of each game type: theoretical win = stake x house edge.")
    timezones: dict[str, str] = Field(
        default_factory=dict,
        description="IANA time zone of each jurisdiction, for night play.")


class LabelSettings(Section):
    """How delayed outcomes and event-time timers become training labels."""

    churn_horizon_s: int = Field(
        7 * 86_400, gt=0,
        description="No activity for this long after a scoring point: churned (label 1).")
    negative_horizon_s: int = Field(
        14 * 86_400, gt=0,
        description="No positive risk or fraud label this long after a player is first seen: "
        "a negative label.")
    inactivity_checkpoints_s: tuple[int, ...] = Field(
        (3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400), min_length=1, max_length=15,
        description="A quiet player is scored (trigger `inactivity`, win-back offers) after "
        "each of these spells without activity, in event time; each point also becomes a "
        "churn label `churn_horizon_s` later. In between, the player is also scored at "
        "their own out-of-rhythm point, where the policy offers re-activation: quiet for "
        "their usual gap plus the policy's `thresholds.reactivation_quiet_spreads` spreads "
        "of their gaps (of their jurisdiction).")

    @field_validator("inactivity_checkpoints_s")
    @classmethod
    def _increasing(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v <= 0 for v in value) or list(value) != sorted(set(value)):
            raise ValueError("must be positive and strictly increasing")
        return value


class ClickHouseSettings(Section):
    """Where analysts' tables live; empty `dsn` means embedded chDB under the run directory."""

    dsn: SecretStr = Field(
        SecretStr(""),
        description="ClickHouse server, `http(s)://user:password@host:8123/database`; empty: "
        "embedded chDB under the run's directory. Set it from the environment "
        "(`PITBOSS_CLICKHOUSE__DSN`): it holds a password.")
    database: str = Field(
        "pitboss", description="Database of Pitboss's tables, created if missing.")
    batch_rows: int = Field(
        20_000, gt=0, description="A table's buffer is flushed when it holds this many rows.")
    flush_interval_s: float = Field(
        2.0, gt=0,
        description="... or when its oldest row is this old (wall clock, sink side only).")
    max_retries: int = Field(
        8, ge=0, description="Retries of a failed insert before the sink stops with an error.")
    retry_initial_s: float = Field(
        0.2, ge=0, description="First wait between insert retries (then doubling).")
    retry_max_s: float = Field(
        10.0, ge=0, description="Longest wait between insert retries.")


class ComplianceSettings(Section):
    """Where a run reads the durable compliance facts (exclusions, consent, limits, register)."""

    facts_database: str = Field(
        "", description="Database whose `compliance_state` table a run reads at start, for "
        "the compliance gate (docs/policy.md, 'Durable compliance state'); empty: the run's "
        "own `clickhouse.database`. A run always writes the facts it sees to its own "
        "database. Set it for a what-if replay into another database that must honour "
        "production's exclusions.")


class RetentionSettings(Section):
    """How long each ClickHouse table keeps rows (a TTL on event time; 0: for ever)."""

    player_features_days: int = Field(
        0, ge=0, description="Feature snapshots (`player_features`, by `as_of`). A TTL "
        "is judged against the server's clock: a replay of older events loses its rows "
        "at once, so the default keeps them; see docs/data-retention.md for what to set.")
    player_scores_days: int = Field(
        0, ge=0, description="Scores (`player_scores`, by `scored_at`); as for features.")
    model_metrics_days: int = Field(
        0, ge=0, description="Model quality per hour (`model_metrics`, by `hour`); no "
        "personal data.")
    rejected_events_days: int = Field(
        0, ge=0, description="Dead letters (`rejected_events`); they carry no event time, so "
        "only 0 is allowed: delete them by hand (docs/data-retention.md).")
    decisions_days: int = Field(
        0, ge=0, description="The audit trail (`decisions`, by `decided_at`). 0: kept for "
        "ever; regulators ask for it (docs/data-retention.md). Set it only to what your "
        "licence conditions require, never below.")
    compliance_state_days: int = Field(
        0, ge=0, description="Durable compliance facts (`compliance_state`). Must stay 0: an "
        "exclusion must never expire with a TTL.")

    @field_validator("rejected_events_days", "compliance_state_days")
    @classmethod
    def _kept(cls, days: int) -> int:
        if days != 0:
            raise ValueError("must be 0 (kept for ever; see docs/data-retention.md)")
        return days

    def ttl_days(self) -> dict[str, int]:
        """Return the days each table keeps rows, by table (0: no TTL)."""
        return {name.removesuffix("_days"): days for name, days in self.model_dump().items()}


class WorkerSettings(Section):
    """How a live worker (`pitboss run`) starts, judges its readiness and logs."""

    startup_timeout_s: float = Field(
        30.0, gt=0,
        description="How long start-up waits for Kafka and ClickHouse before exiting with "
        "code 3.")
    ready_max_age_s: float = Field(
        60.0, gt=0,
        description="`/readyz` fails when the brokers were last reached, or input read was "
        "last committed in an epoch, longer ago than this.")
    stop_timeout_s: float = Field(
        10.0, gt=0,
        description="After SIGTERM, how long the worker still waits for Kafka to acknowledge "
        "actions before it exits with code 1 (the epoch is not committed: a restart redoes it).")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the worker (`--log-level` and `PITBOSS_LOG_LEVEL` "
        "win).")
    kafka_log_interval_s: float = Field(
        30.0, gt=0,
        description="A repeated Kafka client message is logged once, then as a count this "
        "often.")


class Settings(BaseSettings):
    """All of Pitboss's configuration, frozen once loaded."""

    # extra="allow": other PITBOSS_ variables belong to commands (PITBOSS_DEMO_SECONDS);
    # load_settings rejects unknown sections of files and of PITBOSS_<SECTION>__ variables.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED_DELIMITER, frozen=True,
        extra="allow",
    )

    contract: ContractSettings = Field(
        ContractSettings(), description="Event contract v1: currencies, limits and the "
        "future-timestamp rule.")
    features: FeatureSettings = Field(
        FeatureSettings(), description="Per-player state: sharding, lateness, sessions, "
        "windows and player worth.")
    labels: LabelSettings = Field(
        LabelSettings(), description="How delayed outcomes and event-time timers become "
        "training labels.")
    models: ModelSettings = Field(
        default_factory=ModelSettings, description="The online models: per-kind thresholds, "
        "warm-up, learners and rule overrides; seed, anomaly detector, drift.")
    policy_file: str = Field(
        "", description="Policy file (layout of config/policy.toml, see docs/policy.md); "
        "empty: the packaged config/policy.toml. A relative path is taken from the "
        "directory of the configuration file that sets it.")
    clickhouse: ClickHouseSettings = Field(
        ClickHouseSettings(), description="Where analysts' tables are written.")
    kafka: KafkaSettings = Field(
        default_factory=KafkaSettings, description="Brokers, topics, consumer group, "
        "security and client tuning of the live workers.")
    worker: WorkerSettings = Field(
        WorkerSettings(), description="The live worker's start-up and stop deadlines, "
        "readiness, and logging.")
    compliance: ComplianceSettings = Field(
        ComplianceSettings(), description="Where a run reads the durable compliance facts.")
    retention: RetentionSettings = Field(
        RetentionSettings(), description="How long each ClickHouse table keeps rows "
        "(docs/data-retention.md).")

    @property
    def policy_path(self) -> Path | None:
        """The policy file to load, or None for the packaged config/policy.toml."""
        return Path(self.policy_file) if self.policy_file else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read environment variables over the merged files; ignore dotenv and secret files."""
        # Environment wins over files; files arrive as init kwargs from load_settings.
        return (env_settings, init_settings)


def _check_sections(path: Path, data: Mapping[str, Any]) -> None:
    """Reject a top-level table or key of a file that is not a settings section."""
    known = Settings.model_fields
    for key, value in data.items():
        if key in known:
            continue
        # No [brackets] in the message: rich, which prints it in places, takes them for markup.
        if isinstance(value, Mapping):
            raise ConfigError(f"{path}: unknown section {key!r}{did_you_mean(key, known)}")
        raise ConfigError(f"{path}: unknown setting {key!r}{did_you_mean(key, known)}")


def _check_environment(environment: Mapping[tuple[str, ...], str]) -> None:
    """Reject a `PITBOSS_<SECTION>__<FIELD>` variable whose section does not exist."""
    known = Settings.model_fields
    for path, name in environment.items():
        if len(path) > 1 and path[0] not in known:
            raise ConfigError(
                f"environment variable {name}: unknown section {path[0]!r}"
                f"{did_you_mean(path[0], known)}"
            )


def _invalid(exc: ValidationError, sources: ConfigSources) -> ConfigError:
    """Return one `ConfigError` naming, for each problem, its origin and its dotted field."""
    problems = []
    for err in exc.errors():
        loc = err["loc"]
        dotted = ".".join(str(part) for part in loc)
        hint = ""
        if err["type"] == "extra_forbidden" and loc:
            hint = did_you_mean(str(loc[-1]), field_names_at(Settings, loc[:-1]) or ())
        problems.append(f"{sources.origin(loc)}: invalid configuration: {dotted}: "
                        f"{err['msg']}{hint}")
    return ConfigError("; ".join(problems))


def _unparsable_variable(exc: SettingsError, sources: ConfigSources) -> ConfigError:
    """Name the variable pydantic-settings could not parse (a table, a list) in a `ConfigError`."""
    match = re.search(r'field "(\w+)"', str(exc))
    section = match.group(1) if match else ""
    names = sorted(n for p, n in sources.environment.items() if p[0] == section)
    which = ", ".join(names) or f"a {ENV_PREFIX} variable"
    return ConfigError(f"environment variable {which}: cannot parse the value (a table or list "
                       """set from the environment must be JSON, e.g. '{"GBP": 1.17}')""")


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate configuration.

    Args:
        path: an optional TOML file whose values override the packaged defaults.

    Returns:
        The frozen, validated `Settings`.

    Raises:
        ConfigError: naming the file or environment variable, and the dotted field,
            that failed; an unknown section is named with the nearest known one.
    """
    defaults = read_toml(DEFAULTS_FILE, "configuration", ConfigError)
    _check_sections(DEFAULTS_FILE, defaults)
    user_path = Path(path) if path is not None else None
    override: dict[str, Any] = {}
    if user_path is not None:
        override = read_toml(user_path, "configuration", ConfigError)
        _check_sections(user_path, override)
        policy_file = override.get("policy_file")
        if isinstance(policy_file, str) and policy_file and not Path(policy_file).is_absolute():
            override["policy_file"] = str(user_path.parent / policy_file)
    sources = ConfigSources(
        DEFAULTS_FILE, defaults, user_path, override, environment_paths(os.environ)
    )
    _check_environment(sources.environment)
    try:
        return Settings(**deep_merge(defaults, override))
    except ValidationError as exc:
        raise _invalid(exc, sources) from exc
    except SettingsError as exc:
        raise _unparsable_variable(exc, sources) from exc
