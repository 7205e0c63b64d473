"""The pickle cache writes what a full pickle would, touching only what changed."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from pitboss.operators.pickle_cache import PickleCache

# (player, appended value) to change a player; None to take a snapshot.
steps = st.lists(st.one_of(st.tuples(st.sampled_from("abcde"), st.integers()), st.none()),
                 max_size=40)


@given(steps)
def test_every_snapshot_equals_the_players_pickled_now(
    changes: list[tuple[str, int] | None],
) -> None:
    cache = PickleCache()
    players: dict[str, object] = {}
    for change in [*changes, None]:
        if change is None:
            frozen = cache.frozen(players)
            assert list(frozen) == list(players)
            assert {k: pickle.loads(v) for k, v in frozen.items()} == players
            continue
        player, value = change
        cache.touch(player)
        players.setdefault(player, []).append(value)  # type: ignore[attr-defined]


def test_untouched_players_are_not_pickled_again() -> None:
    cache = PickleCache()
    players: dict[str, object] = {"a": [1], "b": [2]}
    first = cache.frozen(players)
    cache.touch("a")
    second = cache.frozen(players)
    assert second["b"] is first["b"] and second["a"] is not first["a"]


def test_a_player_kept_pickled_is_written_as_it_is() -> None:
    kept = pickle.dumps([7])
    assert PickleCache().frozen({"q": kept})["q"] is kept
