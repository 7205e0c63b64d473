"""Checks a command makes before it starts work, so a mistake is one line and not a traceback.

A dataflow that meets a missing file or an unreachable server fails deep inside
Bytewax, which prints hundreds of lines. Each command therefore checks what the
operator gave it first: the configuration and the policy file it names, every
input file (that it exists and has the right format; the records inside are not
checked: bad records become dead letters), the output locations, and each server
(with a short timeout). Every check raises `InputError` (or `ConfigError`) naming
the flag and the file, which `pitboss.mistakes` prints as one line, exit code 2.

Example:
    >>> recorded_logs([Path("no/such.jsonl")])
    Traceback (most recent call last):
    ...
    pitboss.mistakes.InputError: --input no/such.jsonl: no such file

"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitboss.mistakes import InputError

if TYPE_CHECKING:
    from pitboss.config.kafka import KafkaSettings
    from pitboss.config.models import ModelSettings
    from pitboss.config.settings import Settings
    from pitboss.models.model_set import ModelSet
    from pitboss.operators.harm_markers import MarkerBook

BROKER_TIMEOUT_S = 5.0
"""How long `kafka_brokers` waits for a broker to answer."""
CLICKHOUSE_FLAG = "--clickhouse (or PITBOSS_CLICKHOUSE__DSN)"
"""How a ClickHouse error names its source: the option, or the variable it falls back to."""


def configuration(config: Path | None) -> Settings:
    """Load the configuration and the policy file it names, as a worker would.

    Args:
        config: the `--config` file, or None for the packaged defaults.

    Returns:
        The validated settings.

    Raises:
        ConfigError: naming the configuration file, variable or policy file, and the field.

    """
    from pitboss.config.settings import load_settings
    from pitboss.operators.policy.settings import load_policy

    settings = load_settings(config)
    load_policy(settings.policy_path)
    return settings


def recorded_logs(paths: Iterable[Path], flag: str = "--input") -> None:
    """Check that every path is a recorded log the replay can read (JSONL or Parquet).

    The files of a partitioned log (`pitboss.replay.log.partitioned`) must all be given,
    and nothing else with them.

    Raises:
        InputError: naming the flag, the file and what is wrong with it.

    """
    from pitboss.replay.log.partitioned import partition_set
    from pitboss.replay.log.recorded_log import RecordedLogError, check_log

    paths = list(paths)
    try:
        for path in paths:
            check_log(path)
        partition_set(paths)  # a partitioned log's files: all of them, and nothing else
    except RecordedLogError as exc:
        raise InputError(f"{flag} {exc}") from exc


def readable_file(path: Path, flag: str) -> None:
    """Check that `path` is a file that can be opened for reading.

    Raises:
        InputError: naming the flag and the file.

    """
    if not path.exists():
        raise InputError(f"{flag} {path}: no such file")
    if not path.is_file():
        raise InputError(f"{flag} {path}: not a file")
    try:
        with path.open("rb") as stream:
            stream.read(1)
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot read: {exc.strerror}") from exc


def truth_file(path: Path, flag: str = "--truth") -> None:
    """Check that `path` is a simulator truth file (`.json` or `.jsonl`) that loads.

    Raises:
        InputError: naming the flag, the file and the problem.

    """
    from pitboss.replay.analysis.evaluation_truth import load_truth

    readable_file(path, flag)
    try:
        load_truth(path)
    except ValueError as exc:
        raise InputError(f"{flag} {exc}") from exc


def output_dir(path: Path, flag: str) -> None:
    """Create the directory `path` (and its parents) if needed, so outputs can go there.

    Raises:
        InputError: naming the flag when `path` is a file or cannot be created.

    """
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot create the directory: {exc.strerror}") from exc


def output_file(path: Path, flag: str) -> None:
    """Check that the file `path` can be written: its directory exists, it is no directory.

    Raises:
        InputError: naming the flag and the file.

    """
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a directory")
    if not path.parent.is_dir():
        raise InputError(f"{flag} {path}: the directory {path.parent} does not exist")


def run_directory(run: Path, flag: str = "RUN") -> None:
    """Check that `run` is a run directory written by `pitboss replay` (it has summary.json).

    Raises:
        InputError: naming the directory and what is missing.

    """
    if not run.is_dir():
        raise InputError(f"{flag} {run}: no such directory")
    if not (run / "summary.json").is_file():
        raise InputError(f"{flag} {run}: not a run directory (no summary.json; "
                         "`pitboss replay --out` writes one)")


def clickhouse_server(dsn: str | None, flag: str = CLICKHOUSE_FLAG) -> None:
    """Check that the ClickHouse server of `dsn` answers, within a few seconds; no-op without one.

    Raises:
        InputError: naming the flag, the server (never the password) and the reason.

    """
    from pitboss.sinks.clickhouse_client import (
        ClickHouseConfigError,
        ClickHouseUnavailableError,
        check_server,
    )

    if not dsn:
        return
    try:
        check_server(dsn)
    except (ClickHouseConfigError, ClickHouseUnavailableError) as exc:
        raise InputError(f"{flag}: {exc}") from exc


def kafka_brokers(kafka: KafkaSettings, flag: str, timeout_s: float = BROKER_TIMEOUT_S) -> None:
    """Check that a broker of `kafka.bootstrap_servers` answers a metadata request in time.

    librdkafka's own log lines are swallowed: the error says what failed.

    Raises:
        InputError: naming the flag, the servers and librdkafka's reason.

    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("pitboss.preflight.librdkafka")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    config: dict[str, Any] = {**kafka.connection_config(), "logger": quiet}
    admin = AdminClient(config)
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        reason = exc.args[0].str() if exc.args else str(exc)
        raise InputError(
            f"{flag} {kafka.bootstrap_servers}: no Kafka broker answered within "
            f"{timeout_s:.0f} s ({reason})"
        ) from exc


def model_export(path: Path, settings: ModelSettings, flag: str = "--models",
                 markers: MarkerBook | None = None) -> ModelSet:
    """Load the models exported to `path`, checking them against the configuration.

    Raises:
        InputError: naming the flag, the export and what is wrong with it.

    """
    from pitboss.models.storage import ModelStoreError, load_models

    if not path.is_dir():
        raise InputError(f"{flag} {path}: no such directory")
    try:
        return load_models(path, settings, markers)
    except ModelStoreError as exc:
        raise InputError(f"{flag} {exc}") from exc
