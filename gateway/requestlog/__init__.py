"""The request log: written off the request path, read by the admin API and the dashboard.

:mod:`~gateway.requestlog.writer` queues each worker's rows and writes them in batches (a poller
started with each worker); :mod:`~gateway.requestlog.store` is where the batches go (an engine of
its own); :mod:`~gateway.requestlog.search` pages through rows (``/logs``, ``/errors``);
:mod:`~gateway.requestlog.stats`, :mod:`~gateway.requestlog.percentiles` and
:mod:`~gateway.requestlog.timeseries` compute analytics in the database; :mod:`~gateway.requestlog.purge`
deletes old rows (``flask logs purge``).
"""
