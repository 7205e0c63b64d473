"""The ordered merge releases exactly what its definition allows, in (clock, shard, seq) order."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.operators.ordered_merge import DONE, OrderedMerge, Stamped

SHARDS = ["s0", "s1", "s2"]


def released_by_definition(clocks: dict[str, int], pending: list[tuple[int, str, int]]
                           ) -> list[tuple[int, str, int]]:
    """Return the pending items the merge's definition releases, in order.

    That is the leading run of the sorted items that no other shard can precede:
    whose `(clock, shard)` no other shard's `(reached, name)` sorts before.
    """
    out = []
    for clock, shard, seq in sorted(pending):
        if any((reached, other) < (clock, shard)
               for other, reached in clocks.items() if other != shard):
            break
        out.append((clock, shard, seq))
    return out


# A step: a shard sends an item `advance` ms after its clock, reports progress, or ends.
step = st.tuples(st.sampled_from(SHARDS), st.sampled_from(["item", "progress", "done"]),
                 st.integers(0, 3))


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(step, max_size=60), n_shards=st.integers(1, 3),
       release_every=st.integers(1, 4))
def test_ready_releases_what_the_definition_allows(
        steps: list[tuple[str, str, int]], n_shards: int, release_every: int) -> None:
    shards = SHARDS[:n_shards]
    merge = OrderedMerge(shards)
    clocks = dict.fromkeys(shards, 0)
    model_clocks = dict(merge._clock)
    pending: list[tuple[int, str, int]] = []
    seq = 0
    for n, (shard, action, advance) in enumerate(steps):
        if shard not in shards or clocks[shard] == DONE:
            continue
        if action == "done":
            clocks[shard] = model_clocks[shard] = DONE
            merge.done(shard)
        else:
            clocks[shard] += advance
            model_clocks[shard] = max(model_clocks[shard], clocks[shard])
            if action == "item":
                seq += 1
                pending.append((clocks[shard], shard, seq))
                merge.push(Stamped(shard, clocks[shard], seq, (clocks[shard], shard, seq)))
            else:
                merge.progress(shard, clocks[shard])
        if n % release_every == 0:
            expected = released_by_definition(model_clocks, pending)
            assert merge.ready() == [(p[0], p) for p in expected]
            assert merge.slowest() == min(model_clocks.values())
            pending = [p for p in pending if p not in expected]
            assert all(p[0] >= merge.slowest() for p in pending)
    assert merge.drain() == [(p[0], p) for p in sorted(pending)]


def test_a_single_shard_releases_everything_it_sent() -> None:
    merge = OrderedMerge(["only"])
    merge.push(Stamped("only", 5, 1, "a"))
    merge.push(Stamped("only", 9, 2, "b"))
    assert merge.ready() == [(5, "a"), (9, "b")]
