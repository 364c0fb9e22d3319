"""The run-time configuration: routes, services, rate-limit rules and CORS, stored in the database.

:mod:`~gateway.config.runtime` holds each worker's compiled snapshot and the poller that
refreshes it when the version stamp moves; :mod:`~gateway.config.store` is the admin API's
lookups and single-row writes; :mod:`~gateway.config.declarative` parses, validates, exports
and renders the declarative file of ``flask config``; :mod:`~gateway.config.planner` plans and
applies a file against the database (and checks a route's targets are registered services);
:mod:`~gateway.config.sections` says per section its table, key, schema and defaults (the
defaults of the admin API's create too); :mod:`~gateway.config.seed` is ``flask seed``.
"""
