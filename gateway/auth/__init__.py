"""Authentication: who is calling, and whether they may use the admin API.

:mod:`~gateway.auth.identity` verifies a bearer JWT (flask-jwt-extended's settings: algorithm,
issuer, audience, leeway) into an ``Identity`` and makes every token failure a 401;
:mod:`~gateway.auth.tokencache` remembers verified tokens briefly; :mod:`~gateway.auth.remote`
asks the auth service about tokens the gateway cannot verify itself (``AUTH_REMOTE_VALIDATION``);
:mod:`~gateway.auth.adminguard` demands an admin token for ``/api/v1/gateway/`` (except
``/health``); :mod:`~gateway.auth.tokens` signs operator tokens and dashboard login links.
"""
