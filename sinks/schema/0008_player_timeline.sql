-- Analysts' view: one player's story in event-time order (docs/analysts.md). One row per
-- feature snapshot (source 'features'), scoring point ('score') and decision row
-- ('decision'), with the columns that matter to read the story; columns a source does not
-- have are '' or 0 (not NULL), like the tables. Always filter on player_id: every table
-- is ordered by player_id first, so that reads a few granules, not the whole store.
CREATE VIEW IF NOT EXISTS {db}.player_timeline AS
SELECT
    player_id,
    as_of AS at,
    'features' AS source,
    trigger,
    jurisdiction,
    '' AS kind,
    '' AS action,
    '' AS status,
    '' AS suppressed_by,
    CAST([], 'Array(String)') AS reasons,
    0.0 AS churn,
    0.0 AS risk,
    0.0 AS fraud,
    0.0 AS offer_value,
    stake_24h,
    net_loss_24h,
    deposit_amount_24h,
    session_minutes_24h,
    lifetime_stake,
    lifetime_net_loss
FROM {db}.player_features FINAL
UNION ALL
SELECT
    player_id, scored_at, 'score', trigger, jurisdiction, '', '', '', '',
    CAST(arrayConcat(risk_reasons, fraud_reasons, churn_reasons), 'Array(String)'),
    churn, risk, fraud, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
FROM {db}.player_scores FINAL
UNION ALL
SELECT
    player_id, decided_at, 'decision', trigger, jurisdiction, kind, action, status,
    suppressed_by, CAST(reasons, 'Array(String)'), score_churn, score_risk, score_fraud,
    offer_value, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
FROM {db}.decisions FINAL;
