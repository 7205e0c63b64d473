-- Scores: one row per scoring point (a feature update that matters, or an inactivity timer),
-- with each kind's champion score, model version and reason codes, and the shadow
-- challengers' scores (recorded, never used for decisions).
-- ReplacingMergeTree on the deterministic key (player_id, scored_at, trigger, trigger_event_id).
CREATE TABLE IF NOT EXISTS {db}.player_scores
(
    player_id String,
    scored_at DateTime64(3, 'UTC'),
    trigger LowCardinality(String),
    trigger_event_id String,
    jurisdiction LowCardinality(String),
    churn Float64,
    risk Float64,
    fraud Float64,
    churn_version LowCardinality(String),
    risk_version LowCardinality(String),
    fraud_version LowCardinality(String),
    churn_reasons Array(LowCardinality(String)),
    risk_reasons Array(LowCardinality(String)),
    fraud_reasons Array(LowCardinality(String)),
    challenger_scores Map(LowCardinality(String), Float64),
    challenger_versions Map(LowCardinality(String), String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(scored_at)
ORDER BY (player_id, scored_at, trigger, trigger_event_id)
SETTINGS non_replicated_deduplication_window = 1000
