"""``python -m demo --check``: make the three calls the banner suggests and report each."""

from __future__ import annotations

import requests

from demo.banner import BURST
from demo.provision import Tokens


def session() -> requests.Session:
    """Return an HTTP session that ignores proxy settings (everything is on loopback)."""
    http = requests.Session()
    http.trust_env = False
    return http


def check_public(http: requests.Session, base: str, tokens: Tokens) -> tuple[str, bool]:
    """POST the public login: 200 without a token."""
    status = http.post(f"{base}/api/v1/auth/login", json={"username": "demo"}, timeout=10).status_code
    return f"POST /api/v1/auth/login, no token -> {status}", status == 200


def check_protected(http: requests.Session, base: str, tokens: Tokens) -> tuple[str, bool]:
    """GET a protected route: 401 without a token, 200 with the user's, which the service sees."""
    url = f"{base}/api/v1/content/articles"
    anonymous = http.get(url, timeout=10).status_code
    answer = http.get(url, headers={"Authorization": f"Bearer {tokens.user}"}, timeout=10)
    user_id = answer.json().get("received_headers", {}).get("X-User-ID") if answer.ok else None
    text = f"GET /api/v1/content/articles -> {anonymous} without a token, {answer.status_code} with one (X-User-ID {user_id})"
    return text, anonymous == 401 and answer.status_code == 200 and user_id == "demo-user"


def check_burst(http: requests.Session, base: str, tokens: Tokens) -> tuple[str, bool]:
    """Send the burst on search: the first five pass, the rest get 429."""
    url = f"{base}/api/v1/search/query?q=gateway"
    headers = {"Authorization": f"Bearer {tokens.user}"}
    statuses = [http.get(url, headers=headers, timeout=10).status_code for _ in range(BURST)]
    text = f"{BURST} x GET /api/v1/search/query?q=gateway -> {' '.join(map(str, statuses))}"
    return text, statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}


def run_checks(base: str, tokens: Tokens) -> bool:
    """Make the three calls, print one line each, and return whether all went as expected."""
    results = []
    with session() as http:
        for check in (check_public, check_protected, check_burst):
            text, ok = check(http, base, tokens)
            print(f"check: {'ok  ' if ok else 'FAIL'} {text}")
            results.append(ok)
    return all(results)
