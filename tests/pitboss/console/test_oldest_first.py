"""`OldestFirst` forgets by time, whatever the order entries were added or touched in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pitboss.console.oldest_first import OldestFirst

_steps = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 100)), max_size=60)


@given(steps=_steps, limit=st.integers(0, 8), horizon=st.integers(0, 100))
def test_the_oldest_go_first_and_none_older_than_the_horizon_stays(
        steps: list[tuple[str, int]], limit: int, horizon: int) -> None:
    kept = OldestFirst[int]()
    for key, at in steps:
        if key in kept:
            kept.touch(key, at)
        else:
            kept.put(key, 0, at)
    before = {key: kept.time_of(key) for key in kept}
    forgotten = kept.forget(limit, horizon)

    assert len(kept) <= limit
    assert all(kept.time_of(key) >= horizon for key in kept)
    assert forgotten == len(before) - len(kept)
    dropped = set(before) - set(kept)
    if dropped and kept:
        assert max(before[k] for k in dropped) <= min(before[k] for k in kept)


def test_touching_moves_an_entry_behind_the_others() -> None:
    kept = OldestFirst[str]()
    for at, key in enumerate("abc"):
        kept.put(key, key.upper(), at)
    kept.touch("a", 10)
    kept.touch("a", 5)  # time never goes back

    assert kept.forget(limit=2, horizon=0) == 1
    assert list(kept) == ["a", "c"]
    assert kept.time_of("a") == 10
