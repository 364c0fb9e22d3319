"""The normalise step: one canonical spelling of the path, its match keys, or 400."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest
from gateway.proxy.steps.normalise import normalise
from tests.support.contexts import context


@pytest.mark.parametrize(("target", "path", "keys"), [
    ("/a/./b/../c", "/a/c", ("a", "c")),
    ("/a/%2e%2e/b", "/b", ("b",)),          # encoded dot segments are dot segments
    ("/a/..;/b", "/b", ("b",)),             # so is ..; (a servlet container's reading)
    ("/../x", "/x", ("x",)),                # never above the root
    ("/a//b?q=1", "/a/b", ("a", "b")),      # empty segments go; the query is not part of the path
    ("/Orders;v=1/", "/Orders;v=1/", ("Orders",)),  # parameters and a trailing slash are kept, not matched on
    ("/a%2fb", "/a%2Fb", ("a%2Fb",)),       # an encoded slash stays inside its segment
])
def test_path_and_keys(target, path, keys):
    ctx = context(target)
    normalise(ctx)
    assert (ctx.path, ctx.keys) == (path, keys)


def test_the_path_comes_from_the_raw_target_not_path_info():
    """gunicorn's PATH_INFO is decoded (and a client's SCRIPT_NAME shifts it): the step reads RAW_URI."""
    ctx = context("/a/%2e%2e/admin")
    ctx.environ["PATH_INFO"] = "/somewhere/else"
    normalise(ctx)
    assert ctx.path == "/admin"


@pytest.mark.parametrize("target", ["/%zz", "/a%2", "*"])
def test_malformed_path_is_400(target):
    with pytest.raises(BadRequest) as refused:
        normalise(context(target))
    assert refused.value.code == 400
