-- Analysts' view: did play change in the 7 days after an action? (docs/analysts.md)
-- One row per intervention or offer that reached the player (status emitted or shadow) and
-- per offer held back for the holdout group (status holdout, group 'offer_holdout'): the
-- control to compare 'offer' with. Before = the 7 days up to decided_at, after = the 7 days
-- from it. Measured from the player's feature snapshots:
--   stake_*: rise of lifetime_stake between the last snapshots at or before each boundary
--            (exact up to snapshot timing; a player who stopped playing shows 0 after);
--   sessions_*, session_minutes_*: sessions that ended (session_end or session_timeout rows)
--            inside the window, and their length;
--   deposit_amount_7d_*: the 7-day deposit window at the last snapshot at or before the
--            boundary. There is no lifetime deposit counter, so _after is exact only when
--            the player still has a snapshot near the end of the follow-up; follow_up_days
--            says how far the player's snapshots reach into it.
-- follow_up_complete is 0 while decided_at + 7 days is later than the newest snapshot.
CREATE VIEW IF NOT EXISTS {db}.intervention_follow_up AS
WITH
    acts AS (
        SELECT
            decision_id, player_id, kind, action, severity, status, decided_at, jurisdiction,
            offer_value,
            multiIf(kind = 'offer' AND status = 'holdout', 'offer_holdout',
                    kind = 'offer', 'offer', 'intervention') AS grp
        FROM {db}.decisions FINAL
        WHERE kind IN ('intervention', 'offer') AND status IN ('emitted', 'shadow', 'holdout')
    ),
    newest AS (SELECT max(as_of) AS newest FROM {db}.player_features)
SELECT
    a.decision_id AS decision_id,
    a.player_id AS player_id,
    a.grp AS group,
    a.kind AS kind,
    a.action AS action,
    a.severity AS severity,
    a.status AS status,
    a.decided_at AS decided_at,
    a.jurisdiction AS jurisdiction,
    a.offer_value AS offer_value,
    argMaxIf(f.lifetime_stake, f.as_of, f.as_of <= a.decided_at)
        - argMaxIf(f.lifetime_stake, f.as_of, f.as_of <= a.decided_at - INTERVAL 7 DAY)
        AS stake_before,
    argMaxIf(f.lifetime_stake, f.as_of, f.as_of <= a.decided_at + INTERVAL 7 DAY)
        - argMaxIf(f.lifetime_stake, f.as_of, f.as_of <= a.decided_at) AS stake_after,
    countIf(f.trigger IN ('session_end', 'session_timeout')
        AND f.as_of > a.decided_at - INTERVAL 7 DAY AND f.as_of <= a.decided_at)
        AS sessions_before,
    countIf(f.trigger IN ('session_end', 'session_timeout')
        AND f.as_of > a.decided_at AND f.as_of <= a.decided_at + INTERVAL 7 DAY)
        AS sessions_after,
    sumIf(f.session_minutes, f.trigger IN ('session_end', 'session_timeout')
        AND f.as_of > a.decided_at - INTERVAL 7 DAY AND f.as_of <= a.decided_at)
        AS session_minutes_before,
    sumIf(f.session_minutes, f.trigger IN ('session_end', 'session_timeout')
        AND f.as_of > a.decided_at AND f.as_of <= a.decided_at + INTERVAL 7 DAY)
        AS session_minutes_after,
    argMaxIf(f.deposit_amount_7d, f.as_of, f.as_of <= a.decided_at) AS deposit_amount_7d_before,
    argMaxIf(f.deposit_amount_7d, f.as_of, f.as_of > a.decided_at
        AND f.as_of <= a.decided_at + INTERVAL 7 DAY) AS deposit_amount_7d_after,
    greatest(0, dateDiff('second', a.decided_at, maxIf(f.as_of, f.as_of > a.decided_at
        AND f.as_of <= a.decided_at + INTERVAL 7 DAY)) / 86400) AS follow_up_days,
    toUInt8(a.decided_at + INTERVAL 7 DAY <= any(n.newest)) AS follow_up_complete
FROM acts AS a
LEFT JOIN {db}.player_features AS f FINAL ON f.player_id = a.player_id
CROSS JOIN newest AS n
GROUP BY a.decision_id, a.player_id, a.grp, a.kind, a.action, a.severity, a.status,
    a.decided_at, a.jurisdiction, a.offer_value;
