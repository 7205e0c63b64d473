-- Analysts' view: daily KPIs per jurisdiction (docs/analysts.md). The event contract has no
-- brand, so jurisdiction is the finest business grouping; a brand column would be invented.
-- player_features holds window aggregates per snapshot, not raw events, so play is measured
-- from each player's lifetime counters: a day's bets, stake and net revenue are the rise of
-- lifetime_bets, lifetime_stake and lifetime_net_loss between the player's last snapshot
-- before the day and their last snapshot of the day. Snapshots come at every session end and
-- at least hourly while active, so activity is attributed to the day of the first snapshot
-- that counts it (a session across midnight counts on the day its next snapshot falls).
-- There is no lifetime deposit counter: deposit_amount_24h_at_last_snapshot is each active
-- player's 24-hour deposit window at their last snapshot of the day, summed. It is an
-- approximation (the window can reach into the previous day) and is named as such.
-- Decisions come from the audit table by decided_at (UTC day): acted = emitted or shadow.
-- Money is Float64 in the base currency, like the tables it reads (see docs/analysts.md).
CREATE VIEW IF NOT EXISTS {db}.daily_kpis AS
WITH
    last_of_day AS (
        SELECT
            player_id,
            toDate(as_of) AS day,
            argMax(jurisdiction, as_of) AS jurisdiction,
            argMax(lifetime_bets, as_of) AS bets_cum,
            argMax(lifetime_stake, as_of) AS stake_cum,
            argMax(lifetime_net_loss, as_of) AS net_cum,
            argMax(deposit_amount_24h, as_of) AS deposit_24h
        FROM {db}.player_features FINAL
        GROUP BY player_id, day
    ),
    play AS (
        SELECT
            day,
            jurisdiction,
            countIf(player_bets > 0) AS active_players,
            sum(player_bets) AS bets,
            sum(player_stake) AS stake,
            sum(player_net_revenue) AS net_revenue,
            sumIf(deposit_24h, player_bets > 0) AS deposit_amount_24h_at_last_snapshot
        FROM
        (
            SELECT
                day,
                jurisdiction,
                deposit_24h,
                bets_cum - lagInFrame(bets_cum, 1, 0) OVER w AS player_bets,
                stake_cum - lagInFrame(stake_cum, 1, 0) OVER w AS player_stake,
                net_cum - lagInFrame(net_cum, 1, 0) OVER w AS player_net_revenue
            FROM last_of_day
            WINDOW w AS (PARTITION BY player_id ORDER BY day
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        GROUP BY day, jurisdiction
    ),
    acts AS (
        SELECT
            toDate(decided_at) AS day,
            jurisdiction,
            countIf(kind = 'intervention' AND status IN ('emitted', 'shadow')) AS interventions,
            countIf(kind = 'review' AND status IN ('emitted', 'shadow')) AS reviews,
            countIf(kind = 'offer' AND status IN ('emitted', 'shadow')) AS offers,
            sumIf(offer_value, kind = 'offer' AND status IN ('emitted', 'shadow')) AS offer_value,
            countIf(kind = 'offer' AND status = 'holdout') AS offers_held_out,
            countIf(status = 'suppressed') AS suppressions
        FROM {db}.decisions FINAL
        GROUP BY day, jurisdiction
    )
SELECT
    if(play.day = toDate(0), acts.day, play.day) AS day,
    if(play.jurisdiction = '', acts.jurisdiction, play.jurisdiction) AS jurisdiction,
    play.active_players AS active_players,
    play.bets AS bets,
    play.stake AS stake,
    play.net_revenue AS net_revenue,
    play.deposit_amount_24h_at_last_snapshot AS deposit_amount_24h_at_last_snapshot,
    acts.interventions AS interventions,
    acts.reviews AS reviews,
    acts.offers AS offers,
    acts.offer_value AS offer_value,
    acts.offers_held_out AS offers_held_out,
    acts.suppressions AS suppressions
FROM play
FULL OUTER JOIN acts ON play.day = acts.day AND play.jurisdiction = acts.jurisdiction
SETTINGS join_use_nulls = 0;
