-- Policy decisions: the append-only audit trail a regulator can read (docs/policy.md).
-- One row per decision and per status change (emitted, suppressed, holdout, shadow,
-- pending_review, approved, denied), with every field of the action record, the gate rule
-- that held it back (suppressed_by), the reviewer of a verdict and the feature snapshot
-- that led to it. decided_at is the event time at which the row's status was decided.
-- ReplacingMergeTree: a replay or a resume rewrites identical rows for the same
-- (decision_id, status), which merge away; query with FINAL for exact counts.
CREATE TABLE IF NOT EXISTS {db}.decisions
(
    decision_id String,
    status LowCardinality(String),
    suppressed_by LowCardinality(String),
    player_id String,
    kind LowCardinality(String),
    action LowCardinality(String),
    severity LowCardinality(String),
    decided_at DateTime64(3, 'UTC'),
    trigger LowCardinality(String),
    trigger_event_id String,
    reasons Array(LowCardinality(String)),
    score_churn Float64,
    score_risk Float64,
    score_fraud Float64,
    model_versions Map(LowCardinality(String), String),
    policy_version LowCardinality(String),
    jurisdiction LowCardinality(String),
    requires_review Bool,
    offer_type LowCardinality(String),
    offer_value Float64,
    offer_currency LowCardinality(String),
    proposed_action LowCardinality(String),
    review_decision_id String,
    reviewer String,
    features Map(LowCardinality(String), Float64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decided_at)
ORDER BY (player_id, decided_at, decision_id, status)
SETTINGS non_replicated_deduplication_window = 1000
