from bench.snapshot_cost import measure


def test_the_snapshot_cost_covers_every_player_and_keeps_quiet_ones_pickled() -> None:
    cost = measure(players=40, days=2, seed=3)

    assert 0 < cost["kept_pickled"] < cost["players_in_state"]
    assert cost["events"] > 1_000 and cost["snapshot_mb"] > 0
