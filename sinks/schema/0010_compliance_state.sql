-- Durable compliance facts (docs/policy.md, "Durable compliance state"): one row per player
-- and fact, the latest by event time. Facts are self_exclusion (until_ms: its end, 2^62 for
-- ever), consent (value 1 or 0), cool_off (until_ms), limit:<type>:<period> (value: the
-- amount) and external_register (an imported self-exclusion register; player_id is then the
-- id, or sha256:<hex> of it). at is the event time from which the fact holds; source says
-- what set it (event, intervention, register) and reference which event, decision or file.
-- Written by replay and live outputs whenever a fact changes, read back at every start, so
-- an empty recovery directory or an expired input topic never forgets an exclusion.
-- ReplacingMergeTree(at) on (player_id, fact): the newest fact wins; read with FINAL.
-- No TTL, ever: regulators ask for exclusions to be kept (docs/data-retention.md).
CREATE TABLE IF NOT EXISTS {db}.compliance_state
(
    player_id String,
    fact LowCardinality(String),
    value Float64,
    until_ms Int64,
    at DateTime64(3, 'UTC'),
    source LowCardinality(String),
    reference String
)
ENGINE = ReplacingMergeTree(at)
ORDER BY (player_id, fact)
SETTINGS non_replicated_deduplication_window = 1000
