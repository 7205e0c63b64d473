"""Kafka connection, topics and client tuning, mapped onto librdkafka's dotted keys.

`KafkaSettings` is the `[kafka]` section of Pitboss's configuration: where the
brokers are, what the topics are called, which consumer group the workers join
and how to authenticate. Secrets (`sasl_password`, `ssl_key_password`,
`sasl_oauthbearer_client_secret`) are `SecretStr` and belong in environment
variables such as `PITBOSS_KAFKA__SASL_PASSWORD`, never in a file in the repo.
`extra` passes any other librdkafka key through unchanged, but may not repeat a
key that a typed field owns, so each value has exactly one source.

Example:
    >>> s = KafkaSettings(bootstrap_servers="broker:9092", linger_ms=20)
    >>> p = s.producer_config()
    >>> p["bootstrap.servers"], p["enable.idempotence"], p["acks"], p["linger.ms"]
    ('broker:9092', 'true', 'all', '20')
    >>> s.consumer_config()["group.id"]
    'pitboss'
    >>> s.topics.actions
    ('actions.interventions', 'actions.offers', 'actions.reviews')
    >>> KafkaTopics(offers="casino1.offers").for_action("offer")
    'casino1.offers'

"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from pitboss.config.section import Section

# Kafka's own rule for topic names (kafka.common.internals.Topic).
_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")

# librdkafka keys that carry credentials: they must come through a SecretStr field.
_SECRET_WORDS = ("password", "secret", ".pem")

# The `KafkaTopics` field that names the topic of each action kind (`ActionRecord.kind`).
_ACTION_TOPIC_FIELDS = {"intervention": "interventions", "offer": "offers", "review": "reviews"}

# Keys the producer of actions fixes, because weakening them can lose or duplicate actions.
DELIVERY_GUARANTEE_KEYS = frozenset({"enable.idempotence", "acks", "request.required.acks"})

# Keys (and their librdkafka aliases) that typed fields own; `extra` may not repeat them.
_OWNED_KEYS = DELIVERY_GUARANTEE_KEYS | {
    "bootstrap.servers",
    "metadata.broker.list",
    "client.id",
    "security.protocol",
    "ssl.endpoint.identification.algorithm",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.scope",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "linger.ms",
    "queue.buffering.max.ms",
    "compression.type",
    "compression.codec",
    "group.id",
    "auto.offset.reset",
    "enable.auto.commit",
    "session.timeout.ms",
    "max.poll.interval.ms",
}



class KafkaTopics(Section):
    """Topic names: four input topics, three action topics and the dead-letter topic."""

    bets: str = Field("bets", description="Input: bets and their settlements.")
    deposits: str = Field(
        "deposits", description="Input: deposits, withdrawals and bonus claims (wallet events).")
    sessions: str = Field(
        "sessions", description="Input: session starts and ends, limits, consents, exclusions.")
    outcomes: str = Field(
        "outcomes", description="Input: delayed outcomes (confirmed harm, fraud, churn).")
    interventions: str = Field(
        "actions.interventions", description="Output: responsible-gambling interventions.")
    offers: str = Field("actions.offers", description="Output: retention and win-back offers.")
    reviews: str = Field(
        "actions.reviews", description="Output: cases for a human reviewer (RG or fraud).")
    rejected: str = Field(
        "events.rejected",
        description="Dead letters, JSON, keyed by player_id (an empty key if unknown).")

    @field_validator("*")
    @classmethod
    def _legal_topic_name(cls, name: str) -> str:
        if not _TOPIC_NAME.match(name) or name in {".", ".."}:
            raise ValueError(f"{name!r} is not a legal Kafka topic name ([a-zA-Z0-9._-]{{1,249}})")
        return name

    @property
    def inputs(self) -> tuple[str, ...]:
        """The topics workers consume, in contract order."""
        return (self.bets, self.deposits, self.sessions, self.outcomes)

    @property
    def actions(self) -> tuple[str, ...]:
        """The topics workers produce decisions to."""
        return (self.interventions, self.offers, self.reviews)

    def for_action(self, kind: str) -> str:
        """Return the configured topic for action records of one kind.

        Args:
            kind: an `ActionRecord.kind`: `intervention`, `offer` or `review`.

        Returns:
            The topic name from this configuration (`interventions`, `offers` or
            `reviews`), which is where the workers publish that kind.

        Raises:
            ValueError: `kind` is not an action kind.

        """
        field = _ACTION_TOPIC_FIELDS.get(kind)
        if field is None:
            raise ValueError(f"unknown action kind {kind!r}")
        topic: str = getattr(self, field)
        return topic

    @property
    def all(self) -> tuple[str, ...]:
        """Every topic Pitboss reads or writes, dead letters last."""
        return (*self.inputs, *self.actions, self.rejected)


class KafkaSettings(Section):
    """Brokers, topics, consumer group, security and client tuning for live workers."""

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Brokers, `host:port[,host:port...]`; `pitboss dev-kafka` "
        "prints one for development.")
    client_id: str = Field("pitboss", description="Client id the brokers see (logs, quotas).")
    topics: KafkaTopics = Field(
        KafkaTopics(), description="Topic names: inputs, actions and dead letters.")

    # Consumer side: offsets are committed by the worker once its outputs are delivered.
    group_id: str = Field("pitboss", description="Consumer group of the live workers.")
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="Where a group with no committed offset starts.")
    session_timeout_ms: int = Field(
        default=45_000, gt=0,
        description="A worker silent this long leaves the group (its partitions move).")
    max_poll_interval_ms: int = Field(
        default=300_000, gt=0,
        description="A worker that does not poll for this long leaves the group.")
    fetch_wait_max_ms: int = Field(
        10, ge=0,
        description="Longest the broker holds a fetch waiting for data: bounds event-to-action "
        "latency. A Kafka broker answers as soon as data arrives, but librdkafka's development "
        "broker (`pitboss dev-kafka`) holds a fetch this long on each consumer hop "
        "(librdkafka's default of 500 ms would add half a second); on a real broker a smaller "
        "wait only means more empty fetch answers while a partition is idle.")

    # Input alignment (flows/kafka_reader.py): how the topics are merged in event time.
    partition_idle_ms: int = Field(
        500, ge=0,
        description="A caught-up input partition that has sent nothing for this long stops "
        "holding back the event-time watermark. Longer waits out sparser or slower producers "
        "exactly (their events stay in order with the others'); shorter lowers live latency. "
        "A partition with unread data on the brokers always holds the watermark, so a backlog "
        "is merged exactly anyway.")
    max_buffered_per_partition: int = Field(
        20_000, gt=0,
        description="An input partition with more messages than this waiting for the "
        "watermark is paused at the brokers until half of them are processed: bounds the "
        "alignment buffer.")

    # Producer side: how long librdkafka may try before a message counts as failed.
    message_timeout_ms: int = Field(
        default=300_000, ge=0,
        description="An action still undelivered after this stops the worker "
        "(ActionDeliveryError).")
    linger_ms: int = Field(default=5, ge=0, description="Producer batching delay.")
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "lz4", description="Compression of produced batches.")

    # Security: empty strings mean "not set".
    security_protocol: Literal["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] = Field(
        "plaintext", description="How clients talk to the brokers.")
    sasl_mechanism: Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] = (
        Field("", description="SASL mechanism; empty for none."))
    sasl_username: str = Field("", description="SASL user name.")
    sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password: from the environment only, "
        "`PITBOSS_KAFKA__SASL_PASSWORD`.")
    sasl_oauthbearer_method: Literal["default", "oidc"] = Field(
        "default", description="OAUTHBEARER token source: librdkafka's default or OIDC.")
    sasl_oauthbearer_client_id: str = Field("", description="OIDC client id.")
    sasl_oauthbearer_client_secret: SecretStr = Field(
        SecretStr(""), description="OIDC client secret: from the environment only, "
        "`PITBOSS_KAFKA__SASL_OAUTHBEARER_CLIENT_SECRET`.")
    sasl_oauthbearer_token_endpoint_url: str = Field(
        "", description="OIDC token endpoint URL.")
    sasl_oauthbearer_scope: str = Field("", description="OIDC scope requested.")
    ssl_ca_location: str = Field(
        "", description="CA certificate file; empty means the system's CA store.")
    ssl_certificate_location: str = Field("", description="Client certificate file (mTLS).")
    ssl_key_location: str = Field("", description="Client private key file (mTLS).")
    ssl_key_password: SecretStr = Field(
        SecretStr(""), description="Password of the client key: from the environment only, "
        "`PITBOSS_KAFKA__SSL_KEY_PASSWORD`.")
    ssl_endpoint_identification_algorithm: Literal["https", "none"] = Field(
        "https", description="Check the broker's host name against its certificate (`https`).")

    extra: dict[str, str] = Field(
        default_factory=dict,
        description="Any other librdkafka key, as a string; may not repeat a key above or carry "
        "a credential.")

    @field_validator("bootstrap_servers")
    @classmethod
    def _has_host_and_port(cls, servers: str) -> str:
        for server in servers.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return servers

    @field_validator("extra")
    @classmethod
    def _no_secrets_in_extra(cls, extra: dict[str, str]) -> dict[str, str]:
        for key in extra:
            if any(word in key for word in _SECRET_WORDS):
                raise ValueError(
                    f"{key!r} looks like a credential: use a SecretStr field set from the "
                    "environment (e.g. PITBOSS_KAFKA__SASL_PASSWORD), not `extra`"
                )
        return extra

    @model_validator(mode="after")
    def _extra_does_not_shadow_fields(self) -> KafkaSettings:
        shadowed = sorted(set(self.extra) & _OWNED_KEYS)
        if shadowed:
            raise ValueError(f"extra repeats keys that have their own setting: {shadowed}")
        return self

    def connection_config(self) -> dict[str, str]:
        """Return the librdkafka keys shared by producers and consumers (secrets in clear).

        Returns:
            Only the keys that are set, so librdkafka's own defaults apply to the rest.

        """
        config = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
        }
        if self.security_protocol in ("ssl", "sasl_ssl"):
            config["ssl.endpoint.identification.algorithm"] = (
                self.ssl_endpoint_identification_algorithm
            )
        oauth_secret = self.sasl_oauthbearer_client_secret
        optional = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password.get_secret_value(),
            "sasl.oauthbearer.client.id": self.sasl_oauthbearer_client_id,
            "sasl.oauthbearer.client.secret": oauth_secret.get_secret_value(),
            "sasl.oauthbearer.token.endpoint.url": self.sasl_oauthbearer_token_endpoint_url,
            "sasl.oauthbearer.scope": self.sasl_oauthbearer_scope,
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": self.ssl_key_password.get_secret_value(),
        }
        config.update({key: value for key, value in optional.items() if value})
        if self.sasl_mechanism == "OAUTHBEARER":
            config["sasl.oauthbearer.method"] = self.sasl_oauthbearer_method
        return config

    def producer_config(self) -> dict[str, str]:
        """Return a confluent_kafka.Producer configuration: idempotent, `acks=all`.

        Returns:
            Connection keys, producer tuning, then `extra`.

        """
        config = self.connection_config()
        config.update(
            {
                "enable.idempotence": "true",
                "acks": "all",
                "message.timeout.ms": str(self.message_timeout_ms),
                "linger.ms": str(self.linger_ms),
                "compression.type": self.compression_type,
            }
        )
        config.update(self.extra)
        return config

    def consumer_config(self, group_id: str | None = None) -> dict[str, str]:
        """Return a confluent_kafka.Consumer configuration with manual offset commits.

        Args:
            group_id: overrides the configured consumer group, e.g. for a replay.

        Returns:
            Connection keys, consumer tuning, then `extra`.

        """
        config = self.connection_config()
        config.update(
            {
                "group.id": group_id or self.group_id,
                "auto.offset.reset": self.auto_offset_reset,
                "enable.auto.commit": "false",
                "session.timeout.ms": str(self.session_timeout_ms),
                "max.poll.interval.ms": str(self.max_poll_interval_ms),
                "fetch.wait.max.ms": str(self.fetch_wait_max_ms),
            }
        )
        config.update(self.extra)
        return config
