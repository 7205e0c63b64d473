-- A sustained upward shift of the player's stakes: the CUSUM statistic of their log-stakes in
-- spreads of their own (docs/features.md, operators/stake_shift.py). Older rows read 0.
ALTER TABLE {db}.player_features ADD COLUMN IF NOT EXISTS stake_shift Float64;
