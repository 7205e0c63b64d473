-- A player's session against their own baselines (operators/baselines.py, issue 17):
-- relative markers of harm, and how many sessions the baselines have seen.
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS session_minutes_vs_usual Float64;
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS session_deposits_vs_usual Float64;
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS baseline_sessions Float64;
