"""The `model_metrics` table takes the rows the models emit (embedded ClickHouse)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from pitboss.models.model_set import ModelSet
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.migrations import SCHEMA_DIR, split_statements
from tests.factories import HOUR
from tests.models.factories import separable
from tests.models.test_validation import H0, hot_settings

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(chdb_path: Path, clickhouse_database: str) -> Iterator[Client]:
    client = open_client(None, chdb_path, clickhouse_database)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")
    client.close()


def test_metric_rows_land_in_model_metrics(client: Client, clickhouse_database: str) -> None:
    sql = (SCHEMA_DIR / "0004_model_metrics.sql").read_text()
    for statement in split_statements(sql.replace("{db}", clickhouse_database)):
        client.command(statement)
    models = ModelSet(hot_settings())
    rows = [r for e in separable("risk", 50, start=H0) for r in models.learn(e)]
    rows += models.advance(H0 + HOUR) + models.close()
    data = [[r.model_kind, r.role, r.model_version, datetime.fromtimestamp(r.hour_ms / 1000, UTC),
             r.metric, r.value, r.n] for r in rows]
    client.insert(f"{clickhouse_database}.model_metrics", data,
                  column_names=["model_kind", "role", "model_version", "hour", "metric",
                                "value", "n"])
    result = client.query(
        f"SELECT role, metric, value, n, toUnixTimestamp(hour) FROM "
        f"{clickhouse_database}.model_metrics FINAL WHERE model_kind = 'risk' "
        f"AND metric = 'log_loss' ORDER BY role").result_rows
    expected = sorted((r.role, r.metric, r.value, r.n, r.hour_ms // 1000) for r in rows
                      if r.model_kind == "risk" and r.metric == "log_loss")
    assert [tuple(row) for row in result] == expected
