from pathlib import Path

import orjson

from bench.partition_headroom import split_by_player
from pitboss.operators.sharding import shard_index


def test_split_keeps_every_line_in_order_and_each_player_in_one_half(tmp_path: Path) -> None:
    players = [f"player-{i}" for i in range(40)]
    lines = [orjson.dumps({"player_id": players[i % 40], "n": i}) for i in range(200)]
    lines.insert(7, b"{not json")
    lines.insert(50, b'{"player_id": 12}')
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")

    low, high = split_by_player(log, tmp_path, shards=16)

    low_lines, high_lines = low.read_bytes().splitlines(), high.read_bytes().splitlines()
    assert sorted(low_lines + high_lines) == sorted(lines)
    assert [ln for ln in lines if ln in set(low_lines)] == low_lines  # log order kept
    assert b"{not json" in low_lines and b'{"player_id": 12}' in low_lines
    for line in high_lines:
        assert shard_index(orjson.loads(line)["player_id"], 16) >= 8
    for line in low_lines:
        if line.startswith(b'{"player_id":"'):
            assert shard_index(orjson.loads(line)["player_id"], 16) < 8
    assert high_lines and low_lines
