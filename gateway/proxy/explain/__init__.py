"""Explain a request: what the gateway would do with it right now, without forwarding it.

The request is a made-up WSGI environ (method, path, headers, client IP) that goes through the
pipeline's own steps (:data:`gateway.proxy.steps.STEPS`) on a
:class:`~gateway.proxy.context.ProxyContext` over the worker's current snapshot, up to the step
that would answer or refuse it. The steps that act on shared state are replaced by their
read-only halves: the rate limits read their counters without taking a slot
(:meth:`~gateway.ratelimits.counters.WindowCounters.peek`), the circuit says what it would let
through without taking a trial's lease (:meth:`~gateway.circuits.breaker.ServiceBreaker.decide`),
the target choice runs on a fork of the route's round robins
(:meth:`~gateway.specs.traffic.TrafficPlan.forked`), and nothing is forwarded. The plugins'
``access`` hooks run as they would (on the made-up request; ``ctx.dry_run`` tells them so).

The report (:func:`explain`) is a dict: the verdict first, then one section per decision.
"""

from __future__ import annotations

import io
from urllib.parse import unquote

from flask import current_app

from gateway.config.runtime import runtime
from gateway.errors import GatewayError
from gateway.proxy.context import ProxyContext
from gateway.proxy.explain import sections
from gateway.proxy.steps.auth import authenticate_caller
from gateway.proxy.steps.cors import answer_preflight
from gateway.proxy.steps.loops import refuse_loops
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from gateway.proxy.steps.plugins import run_late_plugins_access, run_plugins_access

# The pipeline's deciding steps, in the order of gateway.proxy.steps.STEPS. The rate limits and the
# circuit follow as their read-only halves (Report.check_rate_limits, Report.check_circuit), with the
# plugins below the rate limits' priority (request-transformer, proxy-cache...) run between them as
# in STEPS; the WebSocket step and the forwarder are not run.
PIPELINE_STEPS = (
    ("loop", refuse_loops),
    ("normalise", normalise),
    ("match", match_route),
    ("cors_preflight", answer_preflight),
    ("authenticate", authenticate_caller),
    ("plugins", run_plugins_access),
)


def build_environ(method: str, target: str, headers: dict | None = None, client_ip: str = "127.0.0.1",
                  scheme: str = "http") -> dict:
    """Return the WSGI environ a server would make for ``METHOD target`` from ``client_ip`` with ``headers``."""
    path, _, query = target.partition("?")
    environ = {"REQUEST_METHOD": method.upper(), "RAW_URI": target, "PATH_INFO": unquote(path, "latin-1"),
               "QUERY_STRING": query, "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": client_ip, "wsgi.url_scheme": scheme,
               "wsgi.input": io.BytesIO(b"")}
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = str(value)
    return environ


def explain(method: str, target: str, headers: dict | None = None, client_ip: str = "127.0.0.1") -> dict:
    """Return what the gateway would do with this request now (see the module's docstring).

    Needs an app context. Takes no rate-limit slot, no circuit trial, moves no round robin.
    """
    environ = build_environ(method, target, headers, client_ip)
    ctx = ProxyContext(environ, runtime().current())
    ctx.dry_run = True
    report = sections.Report(ctx, dict(headers or {}))
    if sections.own_endpoint(environ, current_app):  # decided before the pipeline, as the WSGI entry does
        normalise(ctx)  # cannot fail: the path was normalised to decide
        report.answer("match", None, "gateway", "The gateway's own endpoint: answered by the gateway, not proxied.")
        return report.finish()
    steps = (*PIPELINE_STEPS, ("rate_limit", report.check_rate_limits), ("late_plugins", run_late_plugins_access),
             ("circuit", report.check_circuit))
    for name, step in steps:
        if run_step(report, name, step, ctx):
            break
    else:
        report.forward()
    return report.finish()


def run_step(report, name: str, step, ctx) -> bool:
    """Run one step on ``ctx``; record its outcome; return whether it ended the request."""
    try:
        answer = step(ctx)
    except GatewayError as exc:
        report.refuse(name, exc)
        return True
    if answer is not None:
        report.answer(name, answer.status, "answer", f"Answered by the gateway ({name}) with {answer.status}.",
                      dict(answer.headers))
        return True
    report.passed(name)
    return False
