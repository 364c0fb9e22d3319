"""The settings' default rules, and seeded rows that take their place."""

import pytest

from tests.support.admin import add_route, add_rule, admin_session
from tests.support.database import empty_database
from tests.support.http import statuses
from tests.support.servers import start_gateway


@pytest.fixture(scope="module")
def defaults_gateway(database_url, upstream):
    with start_gateway(database_url, RATE_LIMIT_ENABLED="true", RATE_LIMIT_PER_IP=3, RATE_LIMIT_PER_USER=2,
                       RATE_LIMIT_WINDOW=60) as server:
        add_route(admin_session(server), path_pattern="/d/*", target_service="upstream",
                  target_url=upstream.url, is_public=True)
        yield server
    empty_database(database_url)


def test_settings_act_as_default_rules(defaults_gateway):
    assert statuses(defaults_gateway, "/d/ip", 3) == [200] * 3
    assert statuses(defaults_gateway, "/d/ip", 1) == [429]


def test_a_row_named_like_a_default_replaces_it(defaults_gateway):
    admin = admin_session(defaults_gateway)
    add_rule(admin, "per_ip", 6, 60, None, rule_name="default-per-ip")
    assert statuses(defaults_gateway, "/d/after", 6) == [200] * 6
    assert statuses(defaults_gateway, "/d/after", 1) == [429]


def test_default_per_user_rule(defaults_gateway):
    assert statuses(defaults_gateway, "/d/user", 2, user="carol", source="127.0.0.3") == [200, 200]
    assert statuses(defaults_gateway, "/d/user", 1, user="carol", source="127.0.0.4") == [429]
