import struct
from array import array

from hypothesis import given
from hypothesis import strategies as st

from pitboss.operators.feature_pack import pack_features, unpack_features


def _bits(values: tuple[float, ...]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


@given(st.lists(st.one_of(st.just(0.0), st.just(-0.0), st.floats(width=32), st.floats()),
                max_size=120))
def test_packed_row_equals_the_float32_row(values: list[float]) -> None:
    expected = tuple(array("f", values))
    unpacked = unpack_features(pack_features(values))
    assert len(unpacked) == len(values)
    assert _bits(unpacked) == _bits(expected)  # bit for bit: -0.0 and NaN included


def test_zeros_cost_a_bit_each() -> None:
    row = [0.0] * 86
    row[3] = 1.5
    assert len(pack_features(row)) == 2 + 11 + 4
