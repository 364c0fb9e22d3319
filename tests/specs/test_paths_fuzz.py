"""Properties of the path normaliser and matcher, on arbitrary input (hypothesis)."""

import re
import string
import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.specs.paths import BadPath, match_key, normalise_path
from gateway.specs.routes import RouteSpec, RouteTable, path_keys

# Pieces that make the tricky spellings likely: dots, escapes (good, bad, of dots and slashes).
PIECES = st.sampled_from(["/", ".", "..", "%2e", "%2E", "%2f", "%2F", "%", "%4", "%zz", "%61", ";", ";x=1", "private",
                          "public", "a", "~", "%7E", "\\", " ", "é", "%00", "//", "/./", "/../"])
PATHS = st.lists(PIECES | st.text(string.printable, max_size=3), max_size=25).map(lambda parts: "/" + "".join(parts))
ANY_TEXT = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60)
UNRESERVED = set(string.ascii_letters + string.digits + "-._~")
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def route(pattern, public):
    row = types.SimpleNamespace(id=pattern, path_pattern=pattern, target_service="s", target_url="http://h",
                                methods=["GET"], is_public=public, priority=0, timeout=5, retry_count=0,
                                circuit_breaker_enabled=False, strip_prefix=False)
    return RouteSpec.from_row(row)


TABLE = RouteTable([route("/private/*", False), route("/*", True), route("/public/*", True)])


def normalised_or_none(raw):
    try:
        return normalise_path(raw)
    except BadPath:
        return None


@FUZZ
@given(ANY_TEXT)
def test_no_exception_but_bad_path_on_any_input(text):
    for raw in (text, "/" + text):
        normalised_or_none(raw)


@FUZZ
@given(PATHS)
def test_normalisation_is_idempotent(raw):
    once = normalised_or_none(raw)
    if once is not None:
        assert normalise_path(once) == once


@FUZZ
@given(PATHS)
def test_normalised_paths_have_no_dot_segments_or_empty_segments(raw):
    path = normalised_or_none(raw)
    if path is None:
        return
    inner = path.strip("/").split("/") if path.strip("/") else []
    assert all(match_key(segment) not in ("", ".", "..") for segment in inner)  # ..;x is .. to a servlet
    for escape in re.findall(r"%([0-9A-Fa-f]{2})", path):  # no unreserved character is left encoded
        assert escape == escape.upper() and chr(int(escape, 16)) not in UNRESERVED


@FUZZ
@given(PATHS)
def test_what_is_checked_is_what_is_forwarded(raw):
    """The route chosen for a path is the route its forwarded spelling gets too."""
    path = normalised_or_none(raw)
    if path is None:
        return
    chosen = TABLE.match(path_keys(path), "GET").route
    forwarded_again = TABLE.match(path_keys(normalise_path(path)), "GET").route
    assert chosen is forwarded_again


@FUZZ
@given(PATHS)
def test_a_path_that_means_private_always_gets_the_private_route(raw):
    """Whatever the spelling, a path whose canonical first segment is `private` is protected."""
    path = normalised_or_none(raw)
    if path is None or not path_keys(path) or path_keys(path)[0] != "private":
        return
    assert TABLE.match(path_keys(path), "GET").route.is_public is False
