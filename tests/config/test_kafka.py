"""KafkaSettings: mapping onto librdkafka keys, secrets, pass-through and validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pitboss.config.kafka import _SECRET_WORDS, KafkaSettings, KafkaTopics
from pitboss.operators.policy.actions import KINDS


class _EnvOnly(BaseSettings):
    """Settings wired the way config/settings.py nests sections, read from the environment."""

    model_config = SettingsConfigDict(env_prefix="PITBOSS_", env_nested_delimiter="__")
    kafka: KafkaSettings = KafkaSettings()


def test_sasl_ssl_maps_onto_dotted_keys_and_hides_the_password() -> None:
    settings = KafkaSettings(
        bootstrap_servers="b1:9093,b2:9093",
        security_protocol="sasl_ssl",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="pitboss",
        sasl_password="hunter2",
        ssl_ca_location="/etc/ssl/ca.pem",
    )
    config = settings.producer_config()
    assert {k: config[k] for k in ("security.protocol", "sasl.mechanism", "sasl.username")} == {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "pitboss",
    }
    assert config["sasl.password"] == "hunter2"
    assert config["ssl.ca.location"] == "/etc/ssl/ca.pem"
    assert config["ssl.endpoint.identification.algorithm"] == "https"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


def test_unset_security_fields_are_left_to_librdkafka() -> None:
    config = KafkaSettings().consumer_config()
    assert not any(key.startswith(("sasl.", "ssl.")) for key in config)
    assert config["security.protocol"] == "plaintext"
    assert config["enable.auto.commit"] == "false"


def test_consumer_group_can_be_overridden_per_call() -> None:
    settings = KafkaSettings(group_id="workers")
    assert settings.consumer_config()["group.id"] == "workers"
    assert settings.consumer_config("replay-7")["group.id"] == "replay-7"


def test_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITBOSS_KAFKA__SASL_PASSWORD", "from-env")
    monkeypatch.setenv("PITBOSS_KAFKA__SASL_USERNAME", "svc")
    config = _EnvOnly().kafka.producer_config()
    assert (config["sasl.username"], config["sasl.password"]) == ("svc", "from-env")


@pytest.mark.parametrize("key", ["acks", "enable.idempotence", "bootstrap.servers", "group.id"])
def test_extra_cannot_repeat_a_typed_setting(key: str) -> None:
    with pytest.raises(ValidationError, match=key.replace(".", r"\.")):
        KafkaSettings(extra={key: "x"})


@pytest.mark.parametrize("key", ["sasl.password", "ssl.keystore.password", "ssl.key.pem"])
def test_extra_cannot_carry_credentials(key: str) -> None:
    with pytest.raises(ValidationError, match="looks like a credential"):
        KafkaSettings(extra={key: "x"})


@pytest.mark.parametrize("servers", ["broker", "broker:", ":9092", "a:9092,b"])
def test_bootstrap_servers_need_host_and_port(servers: str) -> None:
    with pytest.raises(ValidationError, match="host:port"):
        KafkaSettings(bootstrap_servers=servers)


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 250, ".."])
def test_illegal_topic_names_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError, match="not a legal Kafka topic name"):
        KafkaSettings(topics={"offers": name})


def test_every_action_kind_goes_to_its_configured_topic() -> None:
    topics = KafkaTopics(interventions="c1.rg", offers="c1.crm", reviews="c1.cases")
    assert {kind: topics.for_action(kind) for kind in KINDS} == {
        "intervention": "c1.rg", "offer": "c1.crm", "review": "c1.cases"}
    assert set(map(KafkaTopics().for_action, KINDS)) == set(KafkaTopics().actions)
    with pytest.raises(ValueError, match="unknown action kind 'bet'"):
        topics.for_action("bet")


def test_settings_are_frozen() -> None:
    settings = KafkaSettings()
    with pytest.raises(ValidationError):
        settings.bootstrap_servers = "elsewhere:9092"  # type: ignore[misc]


pass_through = st.dictionaries(
    st.from_regex(r"(queue|socket|fetch|statistics)\.[a-z]{1,8}(\.[a-z]{1,8})?", fullmatch=True),
    st.text(alphabet="abc0123456789", min_size=1, max_size=5),
    max_size=4,
).filter(lambda extra: not any(word in key for key in extra for word in _SECRET_WORDS))


@given(pass_through)
def test_extra_passes_through_without_weakening_delivery(extra: dict[str, str]) -> None:
    config = KafkaSettings(extra=extra).producer_config()
    assert {key: config[key] for key in extra} == extra
    assert (config["enable.idempotence"], config["acks"]) == ("true", "all")
