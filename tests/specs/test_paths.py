import pytest

from gateway.specs.paths import BadPath, match_key, normalise_path


@pytest.mark.parametrize(("raw", "expected"), [
    ("/", "/"),
    ("/a/b", "/a/b"),
    ("/a/./b", "/a/b"),
    ("/a/../b", "/b"),
    ("/../../a", "/a"),
    ("/a//b///c", "/a/b/c"),
    ("//a", "/a"),
    ("/a/b/", "/a/b/"),
    ("/a/b/..", "/a"),
    ("/a/%2e/b", "/a/b"),
    ("/a/%2E%2e/b", "/b"),
    ("/a/.%2e/b", "/b"),
    ("/%61dmin", "/admin"),
    ("/a%7Eb", "/a~b"),
    ("/a%2Fb", "/a%2Fb"),
    ("/a%2fb", "/a%2Fb"),
    ("/a%2e%2e%2fb", "/a..%2Fb"),
    ("/..%2F..%2Fetc", "/..%2F..%2Fetc"),
    ("/a%20b", "/a%20b"),
    ("/caf\u00e9", "/caf%E9"),
    ('/a"b', "/a%22b"),
    ("/a;v=1/b", "/a;v=1/b"),
    ("/a/x/..;/b", "/a/b"),
    ("/a/x/..;jsessionid=1/b", "/a/b"),
    ("/a/x/%2e%2e;/b", "/a/b"),
    ("/a/x/.%2E;x=1/b", "/a/b"),
    ("/a/.;x/b", "/a/b"),
    ("/a/;x/b", "/a/b"),
    ("/a/x/..;", "/a"),
    ("/a/;x", "/a/"),
    ("/a/...;/b", "/a/...;/b"),
    ("/a/..x;/b", "/a/..x;/b"),
    ("/a\\b", "/a%5Cb"),
])
def test_normalise_path(raw, expected):
    assert normalise_path(raw) == expected


@pytest.mark.parametrize("raw", ["/a/b/./c//d", "/%2e%2e/x", "/a%2Fb/../c", "/caf%C3%A9", "/a/b/", "/a/x/..;y/b;z"])
def test_normalisation_is_idempotent(raw):
    once = normalise_path(raw)
    assert normalise_path(once) == once


@pytest.mark.parametrize("raw", ["/a%zz", "/a%4", "/a%", "a/b", "*", ""])
def test_malformed_paths_are_refused(raw):
    with pytest.raises(BadPath):
        normalise_path(raw)


def test_match_key_ignores_path_parameters():
    assert match_key("admin;jsessionid=1") == "admin"
    assert match_key("admin") == "admin"
