"""Fixed logarithmic latency buckets, and percentiles from merged bucket counts.

Bucket 0 holds times below 0.01 ms; bucket ``i >= 1`` holds ``[0.01 * 1.04**(i-1), 0.01 * 1.04**i)``
ms, up to 10 minutes (458 buckets; slower times count in the last one). Counts of any minutes
and services add up bucket by bucket, exactly.

A percentile is ``percentile_cont``'s linear interpolation between the values ranked
``floor(h)`` and ``floor(h) + 1`` with ``h = (n - 1) * p``; each of those two values is estimated
as the geometric middle of the bucket that holds it, ``lower * sqrt(1.04)``, which is within
``sqrt(1.04) - 1 = 1.98 %`` of any value of the bucket, so of the true one. An interpolation
between two such estimates is within 1.98 % too. (A place by rank inside the bucket would often
be closer, but its worst case is the bucket's whole width, 4 %.) Results are rounded to the
microsecond, so times under a few hundredths of a millisecond are only that close.
"""

from __future__ import annotations

import math

RATIO = 1.04
LOWEST = 0.01  # ms: the lower edge of bucket 1
HIGHEST = 600_000.0  # ms: 10 minutes, counted in the last bucket and above
LOG_RATIO = math.log(RATIO)
LAST = 1 + math.ceil(math.log(HIGHEST / LOWEST) / LOG_RATIO)


def bucket_of(ms: float) -> int:
    """Return the bucket of a response time in milliseconds."""
    if ms < LOWEST:
        return 0
    return min(1 + int(math.log(ms / LOWEST) / LOG_RATIO), LAST)


def lower_edge(bucket: int) -> float:
    return 0.0 if bucket == 0 else LOWEST * RATIO ** (bucket - 1)


def middle(bucket: int) -> float:
    """Return the geometric middle of ``bucket`` (half of the lowest edge for bucket 0)."""
    if bucket == 0:
        return LOWEST / 2
    return lower_edge(bucket) * math.sqrt(RATIO)


def percentiles(counts: dict[int, int], wanted: tuple[tuple[str, float], ...]) -> dict:
    """Return ``{"requests": n, name: ms or None, ...}`` from bucket -> count."""
    ordered = sorted((bucket, count) for bucket, count in counts.items() if count)
    n = sum(count for _, count in ordered)
    result: dict = {"requests": n}
    for name, p in wanted:
        if not n:
            result[name] = None
            continue
        h = (n - 1) * p
        low = int(h)
        below = rank_value(ordered, low)
        above = rank_value(ordered, low + 1) if low + 1 < n else below
        result[name] = round(below + (h - low) * (above - below), 3)
    return result


def rank_value(ordered: list[tuple[int, int]], rank: int) -> float:
    """Estimate the value of 0-based ``rank`` among the counted times (``ordered`` by bucket)."""
    seen = 0
    for bucket, count in ordered:
        if rank < seen + count:
            return middle(bucket)
        seen += count
    raise IndexError(rank)
