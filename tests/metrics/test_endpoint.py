"""GET /metrics in one process: who may read it, what it exports, and that it is never proxied."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import instruments
from gateway.services import services

TOKEN = "metrics-token-0123456789abcdef"


def scrape(client, remote="127.0.0.1", **headers):
    return client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote})


def families(response) -> dict:
    return {family.name: family for family in text_string_to_metric_families(response.get_data(as_text=True))}


def test_loopback_reads_the_text_format_by_default(client):
    response = scrape(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    names = set(families(response))
    assert {"gateway_requests", "gateway_request_duration_seconds", "gateway_upstream_duration_seconds",
            "gateway_rate_limit_rejections", "gateway_rate_limit_storage_failures", "gateway_requests_in_flight",
            "gateway_log_rows_written", "gateway_log_rows_dropped", "gateway_log_queue_depth",
            "gateway_circuit_state"} <= names


@pytest.mark.parametrize("remote", ["10.1.2.3", "192.0.2.7", "::ffff:8.8.8.8"])
def test_other_addresses_are_refused_by_default(client, remote):
    response = scrape(client, remote)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden" and "gateway_" not in response.get_data(as_text=True)


def test_allowed_networks_are_a_setting(make_app):
    client = make_app(metrics_allowed_networks="10.0.0.0/8").test_client()
    assert scrape(client, "10.200.0.1").status_code == 200
    assert scrape(client, "127.0.0.1").status_code == 403


def test_a_token_is_required_when_set(make_app):
    client = make_app(metrics_token=TOKEN, metrics_allowed_networks="0.0.0.0/0,::/0").test_client()
    missing = scrape(client, "198.51.100.4")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert scrape(client, "198.51.100.4", Authorization=f"Bearer {TOKEN}x").status_code == 401
    assert scrape(client, "198.51.100.4", Authorization=f"Basic {TOKEN}").status_code == 401
    assert scrape(client, "198.51.100.4", Authorization=f"Bearer {TOKEN}").status_code == 200


def test_the_token_does_not_open_a_refused_network(make_app):
    client = make_app(metrics_token=TOKEN).test_client()
    assert scrape(client, "198.51.100.4", Authorization=f"Bearer {TOKEN}").status_code == 403
    assert scrape(client, "127.0.0.1", Authorization=f"Bearer {TOKEN}").status_code == 200


def test_a_trusted_proxy_passes_on_its_clients_address(make_app):
    client = make_app(trusted_proxies="127.0.0.1").test_client()
    assert scrape(client, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 403  # the client, outside
    untrusted = make_app().test_client()
    assert scrape(untrusted, **{"X-Forwarded-For": "127.0.0.1"}, remote="203.0.113.9").status_code == 403


def test_metrics_is_the_gateways_own_path(client, admin_headers):
    made = client.post("/api/v1/gateway/routes", headers=admin_headers, json={
        "path_pattern": "/*", "target_service": "everything", "target_url": "http://127.0.0.1:9"})
    assert made.status_code == 201
    refused = client.post("/api/v1/gateway/routes", headers=admin_headers, json={
        "path_pattern": "/metrics", "target_service": "x", "target_url": "http://127.0.0.1:9"})
    assert refused.status_code == 422 and "path_pattern" in refused.get_json()["fields"]
    assert client.post("/api/v1/gateway/routes", headers=admin_headers, json={
        "path_pattern": "/metrics/*", "target_service": "x", "target_url": "http://127.0.0.1:9"}).status_code == 201
    assert scrape(client).status_code == 200
    # Other spellings are normalised before Flask routes them, so they are /metrics itself; one that
    # normalises to another path with the same match key (/metrics;x=1) is the gateway's own path in
    # disguise, refused (404). None is ever forwarded (that would be a 502 from port 9).
    for spelling, status in (("/%6Detrics", 200), ("/./metrics", 200), ("/x/../metrics", 200),
                             ("/metrics;x=1", 404), ("/%2E/metrics", 200)):
        response = client.get(spelling)
        assert response.status_code == status, spelling
        if status == 200:
            assert "gateway_requests" in response.get_data(as_text=True)
        else:
            assert response.get_json()["error"] == "route_not_found", spelling


def test_request_counts_by_service_route_method_and_status_class(client):
    client.get("/nowhere/1").close()
    client.post("/nowhere/2").close()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in families(scrape(client)).values() for s in family.samples}
    labels = (("method", "POST"), ("route", "none"), ("service", "none"), ("status_class", "4xx"))
    assert samples[("gateway_requests_total", labels)] >= 1
    assert samples[("gateway_request_duration_seconds_count", labels)] >= 1


def test_the_limiters_unchecked_requests_are_exported(app, client):
    before = instruments.RATE_LIMIT_UNCHECKED._value.get()
    services(app).rate_limit_guard = types.SimpleNamespace(failures=3)  # as if Redis had been down
    client.get("/nowhere/x").close()
    assert instruments.RATE_LIMIT_UNCHECKED._value.get() - before == 3
    client.get("/nowhere/y").close()
    assert instruments.RATE_LIMIT_UNCHECKED._value.get() - before == 3  # counted once


def test_the_multiprocess_directory(monkeypatch, tmp_path):
    from gateway.metrics import multiproc

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # unset, and restored as it was after the test
    private = multiproc.prepare_multiprocess_dir()
    assert multiproc.multiprocess_dir() == private and Path(private).is_dir()
    multiproc.remove_private_dir()
    assert not Path(private).exists()
    (tmp_path / "counter_1.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not a sample file")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert multiproc.prepare_multiprocess_dir() == str(tmp_path)
    multiproc.remove_private_dir()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keep.txt"]  # an operator's directory stays
