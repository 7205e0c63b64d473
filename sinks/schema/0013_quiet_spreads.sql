-- How far the player's quiet spell passes their usual gap between days of play, in spreads
-- of their gaps (docs/features.md, operators/visit_rhythm.py). Older rows read 0.
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS quiet_spreads Float64;
