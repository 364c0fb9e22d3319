"""The latency histogram: any percentile of merged buckets within 2 % of the exact one."""

from __future__ import annotations

import random

import pytest

from gateway.requestlog import histogram
from tests.support.rows import reference_percentile

WANTED = tuple((f"p{p}", p) for p in (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0))


def distributions(rng: random.Random) -> dict[str, list[float]]:
    return {
        "lognormal": [rng.lognormvariate(3, 1.2) for _ in range(5000)],
        "exponential": [rng.expovariate(1 / 250) + 0.02 for _ in range(3000)],
        "uniform": [rng.uniform(0.5, 30_000) for _ in range(2000)],
        "bimodal": [rng.gauss(5, 0.5) if rng.random() < 0.8 else rng.gauss(2000, 300) for _ in range(4000)],
        "few": [rng.uniform(1, 1000) for _ in range(3)],
        "ties": [12.5] * 50 + [80.0] * 50,
    }


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_of_merged_buckets_are_within_2_percent(seed):
    rng = random.Random(seed)
    for name, values in distributions(rng).items():
        parts = [{}, {}, {}]  # three writers' (or minutes') buckets, merged as the readers merge them
        for value in values:
            part = parts[rng.randrange(3)]
            bucket = histogram.bucket_of(value)
            part[bucket] = part.get(bucket, 0) + 1
        merged: dict = {}
        for part in parts:
            for bucket, count in part.items():
                merged[bucket] = merged.get(bucket, 0) + count
        found = histogram.percentiles(merged, WANTED)
        assert found["requests"] == len(values)
        for label, p in WANTED:
            assert found[label] == pytest.approx(reference_percentile(values, p), rel=0.02), (name, label)


def test_the_buckets_are_4_percent_wide_from_10_us_to_10_minutes():
    assert histogram.bucket_of(0.0) == 0 and histogram.bucket_of(0.009) == 0
    assert histogram.bucket_of(0.01) == 1 and histogram.bucket_of(10 * 60_000.0) <= histogram.LAST
    assert histogram.bucket_of(3_600_000.0) == histogram.LAST  # an hour counts in the last bucket
    for bucket in (1, 100, 300, histogram.LAST - 1):
        assert histogram.lower_edge(bucket + 1) / histogram.lower_edge(bucket) == pytest.approx(1.04)
        assert histogram.bucket_of(histogram.middle(bucket)) == bucket
        for value in (histogram.lower_edge(bucket), histogram.lower_edge(bucket + 1) * 0.999999):
            assert histogram.middle(bucket) == pytest.approx(value, rel=0.0199)  # the estimate of any of its values


def test_an_empty_histogram_has_no_percentiles():
    assert histogram.percentiles({}, WANTED) == {"requests": 0, **{label: None for label, _ in WANTED}}
