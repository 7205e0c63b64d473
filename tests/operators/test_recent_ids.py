from array import array

from hypothesis import given
from hypothesis import strategies as st

from pitboss.operators.recent_ids import remember, seen

FINGERPRINTS = st.integers(-(2**63), 2**63 - 1)


@given(st.lists(st.tuples(FINGERPRINTS, st.integers(0, 2**62), st.integers(0, 2**62)),
                max_size=40),
       FINGERPRINTS)
def test_pairs_behave_like_two_naive_lists(
    steps: list[tuple[int, int, int]], probe: int
) -> None:
    ids = array("q")
    hashes: list[int] = []
    times: list[int] = []
    for fingerprint, ts, cutoff in steps:
        assert seen(ids, fingerprint) == (fingerprint in hashes)
        remember(ids, fingerprint, ts, cutoff)
        while times and times[0] < cutoff:
            del hashes[0], times[0]
        hashes.append(fingerprint)
        times.append(ts)
        assert list(ids) == [v for pair in zip(hashes, times, strict=True) for v in pair]
    assert seen(ids, probe) == (probe in hashes)


def test_an_event_time_equal_to_a_fingerprint_is_not_a_match() -> None:
    ids = array("q")
    remember(ids, 1, 42, cutoff=0)
    assert not seen(ids, 42)
    # bytes that straddle two values are not a match either
    remember(ids, 0x0101010101010101, 0x0101010101010101, cutoff=0)
    assert not seen(ids, 0x0101010101010101 << 8 & (2**63 - 1))
