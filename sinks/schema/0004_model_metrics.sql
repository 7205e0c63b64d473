-- Online model quality per hour of event time: progressive validation (each label scored
-- before it is learned) and drift, one row per (model kind, role, hour, metric). Written
-- by the models step from `models.validation.MetricRow`; metrics are described in docs/models.md.
-- `n` is the number of labels in the hour. ReplacingMergeTree on (model_kind, role, hour,
-- metric): a replay or a resume rewrites identical rows, which merge away; query with FINAL.
CREATE TABLE IF NOT EXISTS {db}.model_metrics
(
    model_kind LowCardinality(String),
    role LowCardinality(String),
    model_version String,
    hour DateTime('UTC'),
    metric LowCardinality(String),
    value Float64,
    n UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (model_kind, role, hour, metric)
