"""`sinks.tables` against real components: the schema's chDB tables, replay and live outputs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka
import orjson
import pytest
from clickhouse_connect.driver.client import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.config.kafka import KafkaSettings, KafkaTopics
from pitboss.models.validation import MetricRow
from pitboss.operators.events import DeadLetter
from pitboss.operators.outputs import (
    FeatureRow,
    FinalModels,
    IngestCount,
    Ordered,
    Score,
    ScoredPoint,
    ShardStats,
)
from pitboss.operators.policy.compliance_facts import ComplianceChange
from pitboss.operators.policy.gate import Decision
from pitboss.operators.policy.player_policy_state import INDEFINITE
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.clickhouse_writer import ClickHouseWriter
from pitboss.sinks.kafka_actions import ActionProducer
from pitboss.sinks.live_outputs import LiveOutputs
from pitboss.sinks.migrations import apply_migrations
from pitboss.sinks.run_outputs import RunOutputs
from pitboss.sinks.tables import TABLES, OutputBatch, Row, Table, dead_letter_json
from tests.operators.policy.factories import T0, engine, features, scored

pytestmark = pytest.mark.timeout(120)

HOUR = 3_600_000
_topic_numbers = itertools.count()


def decisions() -> list[Decision]:
    """Return gated decisions of every kind and status: emitted, pending review, suppressed."""
    eng = engine()
    points = [scored(player="p1", risk=0.95, fraud=0.8), scored(player="p2", churn=0.7, adt=4.0),
              scored(player="p3", churn=0.7, adt=4.0, self_excluded=1.0)]
    made = [d for p in points for d in eng.decide(eng.new_state(p.point.player_id), p)]
    assert {d.status for d in made} >= {"emitted", "pending_review", "suppressed"}
    assert {d.action.kind for d in made} == {"intervention", "offer", "review"}
    return made


def with_challenger(point: ScoredPoint) -> ScoredPoint:
    """Return `point` with a shadow model's risk score beside the champions'."""
    point.challengers = {"risk": Score(0.41, "risk-v2", ("stake_cv_24h",))}
    return point


def output_items() -> list[object]:
    """Return every kind of item the pipeline hands its outputs, several of most."""
    return [
        IngestCount("bets/0", 12),
        FeatureRow("p1", T0, "session_end", "ev-1", "MT", features(adt=12.5)),
        FeatureRow("p2", T0 + HOUR, "hourly", "", "GB", features(stake_1h=40.0)),
        scored(player="p1", ts=T0, risk=0.2, churn=0.1),
        with_challenger(scored(player="p2", ts=T0 + 1, trigger="inactivity", fraud=0.6)),
        MetricRow("risk", "champion", "risk-v1", HOUR, "log_loss", 0.25, 40),
        MetricRow("churn", "challenger", "churn-v2", 2 * HOUR, "auc", 0.75, 12),
        *[Ordered(order, 0, d) for order, d in enumerate(decisions())],
        ComplianceChange("p3", "self_exclusion", 1.0, INDEFINITE, T0, "event", "ev-9"),
        ComplianceChange("p1", "limit:deposit:day", 100.0, 0, T0 + 5, "event", "ev-10"),
        DeadLetter(reason="malformed_json", field=None, event_id=None, player_id=None,
                   source="bets/0", position=3, excerpt="{not json \u00e9"),
        DeadLetter(reason="late", field="ts_ms", event_id="ev-2", player_id="p2",
                   source="deposits/1", position=8, excerpt="{...}", detail="6 min late"),
        ShardStats(players=3, accepted=11),
        FinalModels(models=None),
    ]


def test_every_table_has_the_columns_of_its_schema(
    chdb_path: Path, clickhouse_database: str
) -> None:
    client = open_client(None, chdb_path, clickhouse_database)
    apply_migrations(client, clickhouse_database)
    for table in TABLES:
        rows = client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} "
            "ORDER BY position", parameters={"db": clickhouse_database, "t": table.name},
        ).result_rows
        assert tuple(name for (name,) in rows) == table.columns, table.name


def test_a_batch_of_every_kind_has_rows_for_every_table() -> None:
    batch = OutputBatch(output_items())
    written = {table.name: rows for table, rows in batch.table_rows()}
    assert list(written) == [table.name for table in TABLES]
    for table, rows in zip(TABLES, written.values(), strict=True):
        assert all(len(row) == len(table.columns) for row in rows), table.name
    assert [type(item) for item in batch.others] == [IngestCount, ShardStats, FinalModels]


@settings(max_examples=50, deadline=None)
@given(items=st.lists(st.sampled_from(output_items()), max_size=40))
def test_sorting_a_batch_keeps_every_item_once_in_its_order(items: list[object]) -> None:
    batch = OutputBatch(items)
    kinds = (batch.features, batch.dead_letters, batch.scored, batch.metrics, batch.decisions,
             batch.compliance, batch.others)
    assert sum(len(kind) for kind in kinds) == len(items)
    for kind in kinds:
        assert kind == [item for item in items if any(item is k for k in kind)]
    assert sum(len(rows) for _, rows in batch.table_rows()) == len(items) - len(batch.others)


def read_back(client: Client, database: str, table: Table) -> list[Row]:
    """Return a table's rows (FINAL) as written: times in epoch ms (DateTime64) or s (DateTime)."""
    types = dict(client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
        parameters={"db": database, "t": table.name}).result_rows)
    select = ", ".join(
        f"toUnixTimestamp64Milli({c})" if types[c].startswith("DateTime64")
        else f"toUnixTimestamp({c})" if types[c].startswith("DateTime") else c
        for c in table.columns)  # fmt: skip
    return [tuple(row) for row in
            client.query(f"SELECT {select} FROM {database}.{table.name} FINAL").result_rows]


def same_rows(a: list[Row], b: list[Row]) -> bool:
    """Tell whether two lists hold the same rows, in any order (rows hold lists and maps)."""
    return sorted(map(repr, a)) == sorted(map(repr, b))


def test_the_rows_of_every_item_insert_and_read_back_unchanged(
    chdb_path: Path, clickhouse_database: str
) -> None:
    client = open_client(None, chdb_path, clickhouse_database)
    apply_migrations(client, clickhouse_database)
    writer = ClickHouseWriter(client, clickhouse_database)
    rows = dict(OutputBatch(output_items()).table_rows())
    for table, table_rows in rows.items():
        writer.add(table.name, table_rows, table.columns)
    writer.close()

    for table, table_rows in rows.items():
        assert same_rows(read_back(client, clickhouse_database, table), table_rows), table.name


class Live:
    """A `LiveOutputs` on the development broker, with topics no other test writes."""

    def __init__(self, bootstrap: str, writer: ClickHouseWriter) -> None:
        n = next(_topic_numbers)
        self.bootstrap = bootstrap
        self.topics = KafkaTopics(interventions=f"tables.rg.{n}", offers=f"tables.crm.{n}",
                                  reviews=f"tables.cases.{n}", rejected=f"tables.rejected.{n}")
        producer = ActionProducer.from_settings(KafkaSettings(bootstrap_servers=bootstrap))
        self.outputs = LiveOutputs(producer, writer, self.topics, flush_timeout_s=20)

    def values(self, *topics: str) -> list[bytes]:
        """Return every message value of `topics`, each topic read from start to end."""
        consumer = confluent_kafka.Consumer({
            "bootstrap.servers": self.bootstrap, "group.id": f"tables-{time.monotonic_ns()}",
            "enable.auto.commit": "false", "enable.partition.eof": "true",
        })  # fmt: skip
        try:
            parts = [confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                     for topic in topics
                     for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
            consumer.assign(parts)
            return _read_values(consumer, len(parts))
        finally:
            consumer.close()


def _read_values(consumer: confluent_kafka.Consumer, partitions: int) -> list[bytes]:
    values: list[bytes] = []
    ended, deadline = 0, time.monotonic() + 30
    while ended < partitions:
        assert time.monotonic() < deadline, "topics not read to their end in time"
        for message in consumer.consume(1000, timeout=0.1):
            error = message.error()
            if error is None:
                values.append(message.value() or b"")
            else:
                assert error.code() == confluent_kafka.KafkaError._PARTITION_EOF, error.str()
                ended += 1
    return values


@pytest.fixture
def two_databases(chdb_path: Path, clickhouse_database: str) -> Iterator[tuple[Client, str, str]]:
    """Yield a client and two migrated databases: one for a replay, one for a live worker."""
    replay_db, live_db = f"{clickhouse_database}_replay", f"{clickhouse_database}_live"
    for database in (replay_db, live_db):
        client = open_client(None, chdb_path, database)
        apply_migrations(client, database)
    yield client, replay_db, live_db
    for database in (replay_db, live_db):
        client.command(f"DROP DATABASE IF EXISTS {database}")


def test_replay_and_live_write_the_same_rows_and_records_for_the_same_items(
    two_databases: tuple[Client, str, str], dev_kafka: DevKafka, tmp_path: Path
) -> None:
    client, replay_db, live_db = two_databases
    items = output_items()
    replay = RunOutputs(tmp_path, ClickHouseWriter(client, replay_db), started=0.0)
    live = Live(dev_kafka.bootstrap, ClickHouseWriter(client, live_db))
    for batch in (items[:7], items[7:], items[:3]):  # the last a redelivery
        replay.write(batch)
        live.outputs.write(batch)
    replay.close()
    live.outputs.checkpoint()
    live.outputs.close()

    for table in TABLES:
        written = read_back(client, replay_db, table)
        assert written, table.name
        assert same_rows(written, read_back(client, live_db, table)), table.name
    rejected = (tmp_path / "rejected.jsonl").read_bytes().splitlines()
    assert len(rejected) == 2
    assert sorted(rejected) == sorted(live.values(live.topics.rejected))
    actions = (tmp_path / "actions.jsonl").read_bytes().splitlines()
    topics = live.topics
    assert sorted(actions) == sorted(live.values(topics.interventions, topics.offers,
                                                 topics.reviews))
    assert {orjson.loads(a)["kind"] for a in actions} == {"intervention", "offer", "review"}


def test_a_dead_letter_record_keeps_every_field() -> None:
    letter = DeadLetter(reason="missing_field", field="stake", event_id="ev-3", player_id=None,
                        source="bets/2", position=41, excerpt='{"x": "\u00e9"}', detail="d")
    record: dict[str, Any] = orjson.loads(dead_letter_json(letter))
    assert record == {"reason": "missing_field", "field": "stake", "event_id": "ev-3",
                      "player_id": None, "source": "bets/2", "position": 41,
                      "excerpt": '{"x": "\u00e9"}', "detail": "d"}
