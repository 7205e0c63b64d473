"""Validated configuration: defaults from `config/defaults.toml`, a user file, then environment.

Configuration is data. `load_settings` merges the packaged defaults, an optional
TOML file given with `--config` (any subset of the same layout) and environment
variables named `PITBOSS_<SECTION>__<FIELD>`, then validates the result once at
start-up. A bad value stops the program with an error naming the file and field.

Example:
    >>> s = load_settings()
    >>> s.contract.base_currency, s.features.allowed_lateness_s
    ('EUR', 300)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.kafka import KafkaSettings
from models.settings import ModelSettings

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


class ConfigError(ValueError):
    """A configuration file or variable failed validation; the message names file and field."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContractSettings(_Section):
    """Event contract v1: currencies, limits and the future-timestamp rule."""

    base_currency: str = "EUR"
    default_jurisdiction: str = "UK"
    max_amount: float = Field(1_000_000.0, gt=0)
    max_future_skew_s: int = Field(300, ge=0)
    max_message_bytes: int = Field(1_048_576, gt=0)
    rates: dict[str, float] = Field(default_factory=lambda: {"EUR": 1.0})

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


class FeatureSettings(_Section):
    """Per-player state: sharding, lateness, sessions, windows and player worth."""

    shards: int = Field(16, ge=1, le=4096)
    allowed_lateness_s: int = Field(300, ge=0)
    dedup_window_s: int = Field(300, ge=0)
    session_timeout_s: int = Field(1800, gt=0)
    snapshot_interval_s: int = Field(3600, gt=0)
    clock_tick_s: int = Field(300, gt=0)
    night_start_hour: int = Field(0, ge=0, le=23)
    night_end_hour: int = Field(6, ge=0, le=24)
    house_edge: dict[str, float] = Field(default_factory=dict)
    timezones: dict[str, str] = Field(default_factory=dict)


class LabelSettings(_Section):
    """How delayed outcomes and event-time timers become training labels."""

    churn_horizon_s: int = Field(7 * 86_400, gt=0)
    negative_horizon_s: int = Field(14 * 86_400, gt=0)
    inactivity_point_s: int = Field(3 * 86_400, gt=0)


class ClickHouseSettings(_Section):
    """Where analysts' tables live; empty `dsn` means embedded chDB under the run directory."""

    dsn: SecretStr = SecretStr("")
    database: str = "pitboss"
    batch_rows: int = Field(20_000, gt=0)
    flush_interval_s: float = Field(2.0, gt=0)
    max_retries: int = Field(8, ge=0)
    retry_initial_s: float = Field(0.2, ge=0)
    retry_max_s: float = Field(10.0, ge=0)


class Settings(BaseSettings):
    """All of Pitboss's configuration, frozen once loaded."""

    model_config = SettingsConfigDict(
        env_prefix="PITBOSS_", env_nested_delimiter="__", frozen=True, extra="allow"
    )

    contract: ContractSettings = ContractSettings()
    features: FeatureSettings = FeatureSettings()
    labels: LabelSettings = LabelSettings()
    models: ModelSettings = Field(default_factory=ModelSettings)
    policy_file: str = ""  # empty: the packaged config/policy.toml
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

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


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate configuration.

    Args:
        path: an optional TOML file whose values override the packaged defaults.

    Returns:
        The frozen, validated `Settings`.

    Raises:
        ConfigError: naming the file and the dotted field that failed.
    """
    data = _read_toml(DEFAULTS_FILE)
    source = str(DEFAULTS_FILE)
    if path is not None:
        override = _read_toml(Path(path))
        policy_file = override.get("policy_file")
        if isinstance(policy_file, str) and policy_file and not Path(policy_file).is_absolute():
            override["policy_file"] = str(Path(path).parent / policy_file)
        data = _deep_merge(data, override)
        source = str(path)
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{source}: invalid configuration: {problems}") from exc
