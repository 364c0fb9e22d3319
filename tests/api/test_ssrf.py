"""Upstream URLs pointing at metadata/link-local addresses are refused by the admin API."""

import pytest

from tests.support.admin_api import assert_invalid

FORBIDDEN = ["http://169.254.169.254/latest/meta-data", "http://2852039166/", "http://0xA9FEA9FE",
             "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/", "http://0251.0376.0251.0376/"]


@pytest.mark.parametrize("url", FORBIDDEN)
def test_route_to_a_metadata_address_is_422(client, admin_headers, url):
    body = {"path_pattern": "/x/*", "target_service": "x", "target_url": url}
    assert_invalid(client.post("/api/v1/gateway/routes", headers=admin_headers, json=body), "target_url")


@pytest.mark.parametrize("url", FORBIDDEN)
def test_service_at_a_metadata_address_is_422(client, admin_headers, url):
    body = {"service_name": "meta", "service_url": url}
    assert_invalid(client.post("/api/v1/gateway/services", headers=admin_headers, json=body), "service_url")


def test_allowed_networks_setting_restricts_upstreams(make_app):
    app = make_app(UPSTREAM_ALLOWED_NETWORKS="10.0.0.0/8")
    from tests.support.tokens import make_token

    headers = {"Authorization": f"Bearer {make_token(app, 'a', ('admin',))}"}
    client = app.test_client()
    refused = client.post("/api/v1/gateway/routes", headers=headers,
                          json={"path_pattern": "/y/*", "target_service": "y", "target_url": "http://127.0.0.1:9"})
    assert_invalid(refused, "target_url")
    accepted = client.post("/api/v1/gateway/routes", headers=headers,
                           json={"path_pattern": "/y/*", "target_service": "y", "target_url": "http://10.1.1.1:9"})
    assert accepted.status_code == 201
