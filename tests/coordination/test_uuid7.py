"""The request log's primary keys: RFC 9562 version 7 UUIDs, ordered by time."""

import time
import uuid

from gateway.coordination.dbtypes import uuid7s


def test_layout_is_version_7_of_the_rfc_variant_with_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    ids = uuid7s(500)
    after = time.time_ns() // 1_000_000
    assert len(ids) == len(set(ids)) == 500
    for value in ids:
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert before <= value.int >> 80 <= after
        assert uuid.UUID(str(value)) == value


def test_later_batches_sort_after_earlier_ones():
    first = uuid7s(50)
    time.sleep(0.002)
    second = uuid7s(50)
    assert max(first) < min(second)


def test_the_random_bits_vary():
    ids = uuid7s(200)
    assert len({value.int & ((1 << 62) - 1) for value in ids}) == 200
    assert len({(value.int >> 64) & 0xFFF for value in ids}) > 100
