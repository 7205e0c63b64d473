-- Dead letters: every input message that was not processed, with a machine-readable reason
-- (operators.events.DeadLetter). Columns a letter may lack (field, event_id, player_id) are ''
-- rather than NULL: cheaper to store and simpler to filter (WHERE field = '').
-- position is Int64, like a Kafka offset, so the -1 "no position" sentinel fits.
-- ReplacingMergeTree on the deterministic key (source, position, reason): a replay or a resume
-- after a crash rewrites identical rows, which merge away; query with FINAL for exact counts.
-- No PARTITION BY: dead letters have no event time and are few; partitioning by source would
-- split every insert into one part per source.
-- non_replicated_deduplication_window keeps the tokens of recent inserts, so a retried insert
-- whose first attempt did reach the table is dropped at once (see docs/clickhouse.md).
CREATE TABLE IF NOT EXISTS {db}.rejected_events
(
    source LowCardinality(String),
    position Int64,
    reason LowCardinality(String),
    field LowCardinality(String),
    event_id String,
    player_id String,
    excerpt String,
    detail String
)
ENGINE = ReplacingMergeTree
ORDER BY (source, position, reason)
SETTINGS non_replicated_deduplication_window = 1000
