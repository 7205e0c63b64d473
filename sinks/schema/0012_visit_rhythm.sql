-- The player's rhythm of visits (docs/features.md): usual gap between days of play, time
-- since the last activity in those gaps, and recent against usual frequency. Older rows
-- read 0 for them.
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS visit_gap_days Float64;
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS quiet_gaps Float64;
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS frequency_trend Float64;
