"""docker-compose.yml and its files: the properties a production-like stack needs.

Docker cannot run here, so the stack is checked as data: services and their
dependencies, pinned images, healthchecks, persistent volumes, credentials only
from the environment, the read-only analyst user (only SELECT on the pitboss database,
read with ClickHouse's own parser), Grafana's provisioning, and
that the worker's and producer's command lines parse as `pitboss` commands and
the dashboard's SQL runs against the real schema (chDB, macros expanded).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from pitboss.cli import app
from pitboss.config.kafka import KafkaSettings
from pitboss.config.settings import load_settings
from pitboss.replay.analysis.query_guard import EngineParser, check_query
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.migrations import apply_migrations

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ANALYST_XML = ROOT / "deploy" / "clickhouse" / "users.d" / "analyst.xml"
PROVISIONING = ROOT / "grafana" / "provisioning"
DASHBOARD = PROVISIONING / "dashboards" / "pitboss-overview.json"

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`.
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+)+([.-][0-9A-Za-z.-]+)?$")


def _resolve(text: str, required: str = "secret") -> str:
    """Expand compose interpolation as if only the required variables were set."""

    def value(match: re.Match[str]) -> str:
        op, arg = match["op"] or "", match["arg"] or ""
        return arg if op.endswith("-") else required

    return _INTERPOLATION.sub(value, text)


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_the_stack_has_its_services() -> None:
    assert {"kafka", "kafka-init", "clickhouse", "worker", "grafana"} <= set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_image_is_pinned_to_a_version(service: str) -> None:
    image = _resolve(SERVICES[service]["image"])
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{service}: {image} has no tag"
    assert tag != "latest" and _VERSION_TAG.match(tag), f"{service}: {image} is not pinned"


@pytest.mark.parametrize("service", ["kafka", "clickhouse", "worker", "grafana"])
def test_long_running_services_have_healthchecks(service: str) -> None:
    check = SERVICES[service]["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"}
    assert check["interval"] and check["retries"] >= 3


@pytest.mark.parametrize(("service", "needs"), [
    ("kafka-init", {"kafka": "service_healthy"}),
    ("worker", {"kafka": "service_healthy", "clickhouse": "service_healthy",
                "kafka-init": "service_completed_successfully"}),
    ("grafana", {"clickhouse": "service_healthy"}),
])  # fmt: skip
def test_services_wait_for_what_they_need(service: str, needs: dict[str, str]) -> None:
    depends = SERVICES[service]["depends_on"]
    assert {name: depends[name]["condition"] for name in needs} == needs


def test_state_lives_in_declared_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    mounts = {
        service: {volume.split(":")[0] for volume in spec.get("volumes", [])}
        for service, spec in SERVICES.items()
    }
    for service, path in [("kafka", "/var/lib/kafka/data"), ("clickhouse", "/var/lib/clickhouse"),
                          ("worker", "/var/lib/pitboss"), ("grafana", "/var/lib/grafana")]:
        named = [v for v in SERVICES[service]["volumes"] if v.split(":")[1] == path]
        assert named and named[0].split(":")[0] in declared, f"{service}: {path} not persisted"
    for service, sources in mounts.items():
        for source in sources:
            assert source in declared or source.startswith("./"), f"{service}: {source}"
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{service} mounts missing {source}"


def test_no_literal_passwords_only_required_environment_variables() -> None:
    for service in SERVICES:
        for key, value in _environment(service).items():
            if re.search("PASSWORD|SECRET|TOKEN", key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", value), f"{service}.{key}"
    for text in _strings(COMPOSE):
        for userinfo in re.findall(r"://([^@/\s]+)@", text):
            _, _, password = userinfo.partition(":")
            assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", password), f"literal in {text!r}"


def test_env_example_documents_every_variable_and_holds_no_secret() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    documented = {line.lstrip("# ").split("=", 1)[0] for line in lines if "=" in line}
    used = {m["name"] for text in _strings(COMPOSE) for m in _INTERPOLATION.finditer(text)}
    required = {m["name"] for text in _strings(COMPOSE) for m in _INTERPOLATION.finditer(text)
                if (m["op"] or "").endswith("?")}  # fmt: skip
    assert used <= documented
    secrets = {"CLICKHOUSE_PASSWORD", "CLICKHOUSE_ANALYST_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
    assert secrets <= required
    for line in lines:
        if not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            assert name in required and value == "", f"{name} has a committed value"


def test_analyst_user_is_read_only_with_its_password_from_the_environment() -> None:
    root = ET.parse(ANALYST_XML).getroot()
    analyst = root.find("users/analyst")
    assert analyst is not None
    profile = root.find(f"profiles/{analyst.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") == "1"
    password = analyst.find("password")
    assert password is not None and not (password.text or "").strip()
    assert password.get("from_env") == "CLICKHOUSE_ANALYST_PASSWORD"
    assert "CLICKHOUSE_ANALYST_PASSWORD" in _environment("clickhouse")
    mounted = {v.split(":")[1] for v in SERVICES["clickhouse"]["volumes"]}
    assert "/etc/clickhouse-server/users.d/analyst.xml" in mounted


def test_analyst_holds_only_select_on_the_pitboss_database(
    chdb_path: Path, clickhouse_database: str
) -> None:
    analyst = ET.parse(ANALYST_XML).getroot().find("users/analyst")
    assert analyst is not None
    # ClickHouse refuses these beside <grants>; and allow_databases would keep every global
    # privilege (FILE, URL, REMOTE, ...), which is what let table functions run.
    for element in ("allow_databases", "allow_dictionaries", "access_management",
                    "named_collection_control", "show_named_collections_secrets"):
        assert analyst.find(element) is None, element
    grants = [q.text or "" for q in analyst.iterfind("grants/query")]
    client = open_client(None, chdb_path, clickhouse_database)
    try:  # read each grant the way the server does: with ClickHouse's parser
        canonical = [client.query("SELECT formatQuerySingleLine({q:String})",
                                  parameters={"q": f"{grant} TO analyst"}).result_rows[0][0]
                     for grant in grants]
    finally:
        client.close()
    database = _environment("clickhouse")["CLICKHOUSE_DB"]
    assert canonical == [f"GRANT SELECT ON {database}.* TO analyst"]
    assert database == load_settings().clickhouse.database
    (source_file,) = (PROVISIONING / "datasources").glob("*.yaml")
    (source,) = yaml.safe_load(source_file.read_text(encoding="utf-8"))["datasources"]
    assert source["jsonData"]["defaultDatabase"] == database


def test_system_tables_need_a_grant_on_the_server() -> None:
    mounts = dict(v.split(":")[:2] for v in SERVICES["clickhouse"]["volumes"])
    source = mounts["./deploy/clickhouse/config.d/access_control.xml"]
    assert source == "/etc/clickhouse-server/config.d/access_control.xml"
    access = ET.parse(ROOT / "deploy" / "clickhouse" / "config.d" / "access_control.xml")
    improvements = access.getroot().find("access_control_improvements")
    assert improvements is not None
    assert improvements.findtext("select_from_system_db_requires_grant") == "true"
    assert improvements.findtext("select_from_information_schema_requires_grant") == "true"


def test_grafana_uses_the_clickhouse_plugin_as_the_analyst() -> None:
    plugins = _environment("grafana")["GF_INSTALL_PLUGINS"]
    assert re.fullmatch(r"grafana-clickhouse-datasource \d+\.\d+\.\d+", plugins)
    (source_file,) = (PROVISIONING / "datasources").glob("*.yaml")
    (source,) = yaml.safe_load(source_file.read_text(encoding="utf-8"))["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["username"] == "analyst"
    assert source["jsonData"]["host"] == "clickhouse"
    variable = source["secureJsonData"]["password"].lstrip("$").strip("{}")
    assert variable in _environment("grafana")


def test_dashboard_is_provisioned_over_decisions_and_player_features() -> None:
    (provider_file,) = (PROVISIONING / "dashboards").glob("*.yaml")
    (provider,) = yaml.safe_load(provider_file.read_text(encoding="utf-8"))["providers"]
    mount = next(v for v in SERVICES["grafana"]["volumes"] if v.startswith("./grafana/"))
    source, target = mount.split(":")[:2]
    assert provider["options"]["path"].startswith(target)
    assert (ROOT / source).resolve() == PROVISIONING
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    (source_file,) = (PROVISIONING / "datasources").glob("*.yaml")
    uid = yaml.safe_load(source_file.read_text(encoding="utf-8"))["datasources"][0]["uid"]
    sql = [t["rawSql"] for p in dashboard["panels"] for t in p["targets"]]
    assert all(t["datasource"]["uid"] == uid for p in dashboard["panels"] for t in p["targets"])
    assert any("pitboss.decisions" in s for s in sql)
    assert any("pitboss.player_features" in s for s in sql)


def _expand(sql: str, database: str, start: str = "now() - INTERVAL 1 DAY",
            end: str = "now()", interval_s: int = 60) -> str:
    """Expand the Grafana ClickHouse plugin's macros as the plugin does, for a time range."""
    sql = sql.replace("pitboss.", f"{database}.")
    sql = re.sub(r"\$__timeFilter\((\w+)\)", rf"(\1 >= {start} AND \1 <= {end})", sql)
    sql = re.sub(r"\$__timeInterval\((\w+)\)",
                 rf"toStartOfInterval(\1, INTERVAL {interval_s} SECOND)", sql)
    return sql.replace("$__toTime", end).replace("$__fromTime", start)


def _panel_sql(title: str) -> str:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
    (target,) = panel["targets"]
    return str(target["rawSql"])


def test_the_stake_panel_counts_each_stake_once(chdb_path: Path, clickhouse_database: str) -> None:
    """Overlapping snapshots (a session end, then the hourly one) count the stake once."""
    from pitboss.sinks.tables import FEATURE_COLUMNS

    names = list(FEATURE_COLUMNS)
    client = open_client(None, chdb_path, clickhouse_database)
    rows = []
    # (player, as_of, trigger, stake_1h, lifetime_stake): p1 stakes 30 from 10:00 to 10:20,
    # then 5 at 11:30; p2 had 100 before the range (not counted) and stakes 7 in it.
    for player, at, trigger, stake_1h, lifetime in [
        ("p1", "2026-01-05 10:20:00", "session_end", 30.0, 30.0),
        ("p1", "2026-01-05 11:00:00", "hourly", 30.0, 30.0),
        ("p1", "2026-01-05 11:40:00", "session_end", 5.0, 35.0),
        ("p1", "2026-01-05 12:00:00", "hourly", 5.0, 35.0),
        ("p2", "2026-01-04 09:00:00", "session_end", 100.0, 100.0),
        ("p2", "2026-01-05 10:30:00", "session_end", 7.0, 107.0),
    ]:
        values = dict.fromkeys(names, 0.0)
        values.update(player_id=player, trigger=trigger, trigger_event_id="", jurisdiction="MT",
                      stake_1h=stake_1h, lifetime_stake=lifetime)
        values["as_of"] = int(datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp() * 1000)
        rows.append([values[n] for n in names])
    try:
        apply_migrations(client, clickhouse_database)
        client.insert("player_features", rows, column_names=names, database=clickhouse_database)
        sql = _expand(_panel_sql("Play across all players"), clickhouse_database,
                      "toDateTime64('2026-01-05 10:00:00', 3, 'UTC')",
                      "toDateTime64('2026-01-05 12:59:59', 3, 'UTC')", 3600)
        by_hour = {row[0].hour: row[1] for row in client.query(sql).result_rows}
    finally:
        client.close()
    assert by_hour == {10: 37.0, 11: 5.0, 12: 0.0}
    assert sum(by_hour.values()) == 42.0  # summing stake_1h gave 30 + 30 + 5 + 5 + 7 = 77


def test_dashboard_queries_run_against_the_schema(
    chdb_path: Path, clickhouse_database: str
) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    client = open_client(None, chdb_path, clickhouse_database)
    try:
        apply_migrations(client, clickhouse_database)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                sql = _expand(target["rawSql"], clickhouse_database)
                assert "$" not in sql, panel["title"]
                # Grafana reads as the analyst: the query guard's rules (project tables only,
                # no table function) mean GRANT SELECT ON pitboss.* is enough for it.
                statement = check_query(sql, EngineParser(client), clickhouse_database)
                client.query(statement)  # raises on an unknown column, table or function
    finally:
        client.close()


def test_topic_initialisation_creates_every_configured_topic() -> None:
    """Every topic field is a settings variable, defaulting to the setting, used everywhere."""
    script = " ".join(SERVICES["kafka-init"]["command"])
    topics = KafkaSettings().topics
    for name in type(topics).model_fields:
        variable = f"PITBOSS_KAFKA__TOPICS__{name.upper()}"
        for service in ("kafka-init", "worker", "producer"):
            assert _environment(service)[variable] == f"${{{variable}:-{getattr(topics, name)}}}"
        assert f'"$${variable}"' in script, variable
    assert "--if-not-exists" in script


def test_topics_get_a_configurable_retention_applied_on_every_start() -> None:
    script = " ".join(SERVICES["kafka-init"]["command"])
    env = _environment("kafka-init")
    assert env["INPUT_RETENTION_MS"] == "${PITBOSS_INPUT_RETENTION_MS:-604800000}"
    assert env["OUTPUT_RETENTION_MS"] == "${PITBOSS_OUTPUT_RETENTION_MS:-2592000000}"
    assert "--config retention.ms=" in script and "--add-config retention.ms=" in script
    assert 'create "$$topic" "$$INPUT_RETENTION_MS"' in script
    assert 'create "$$topic" "$$OUTPUT_RETENTION_MS"' in script


@pytest.mark.parametrize("service", ["worker", "producer"])
def test_service_command_lines_parse_as_pitboss_commands(service: str) -> None:
    args = [_resolve(str(arg)) for arg in SERVICES[service]["command"]]
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    command = commands[args[0]]
    with command.make_context(args[0], args[1:]) as context:
        assert context.params  # parsed; a bad option raises click.UsageError
    assert _environment(service)["PITBOSS_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_dockerfile_builds_the_package_on_python_3_11_and_runs_the_worker() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11[.\d]*-slim", dockerfile, re.MULTILINE)
    locked = dockerfile.index("pip install --quiet --require-hashes -r requirements.lock")
    assert dockerfile.index("pip install --quiet --no-deps .") > locked
    assert re.search(r'^ENTRYPOINT \["pitboss"\]', dockerfile, re.MULTILINE)
    assert re.search(r'^CMD \["run",', dockerfile, re.MULTILINE)
    assert re.search(r"^USER ", dockerfile, re.MULTILINE)


def test_the_worker_is_healthy_when_ready_and_reachable_from_other_containers() -> None:
    command = [str(arg) for arg in SERVICES["worker"]["command"]]
    port = command[command.index("--metrics-port") + 1]
    assert command[command.index("--metrics-host") + 1] == "0.0.0.0"
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(SERVICES["worker"]["healthcheck"]["test"])
