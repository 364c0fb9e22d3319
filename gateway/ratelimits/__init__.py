"""Rate limiting's counters, storage and usage; the request path's step is ``gateway.proxy.steps.ratelimit``.

:mod:`~gateway.ratelimits.counters` takes a slot in every applicable moving window (one Lua call
on Redis, the ``limits`` library's calls in memory); :mod:`~gateway.ratelimits.guard` lets a
request through unchecked (or refuses it, ``RATE_LIMIT_FAIL_CLOSED``) while the storage is down;
:mod:`~gateway.ratelimits.rules` reaches the storage Flask-Limiter builds and reports a rule's
busiest counters (``GET /rate-limits``). The compiled rule specs the request path reads are
leaf specs built with the configuration snapshot.
"""
