from gateway import __version__


def test_liveness(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__}
    assert response.headers["X-Request-ID"]


def test_route_crud_roundtrip(client, admin_headers):
    created = client.post("/api/v1/gateway/routes", headers=admin_headers,
                          json={"path_pattern": "/api/v1/x/*", "target_service": "x", "target_url": "http://127.0.0.1:1"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["methods"] == ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    assert body["timeout"] == 30
    got = client.get(f"/api/v1/gateway/routes/{body['id']}", headers=admin_headers)
    assert got.get_json() == body
