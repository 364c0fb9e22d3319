"""The loop step: a request carrying this deployment's own Via entry is refused (508)."""

from __future__ import annotations

import pytest

from gateway.errors import LoopDetected
from gateway.proxy.steps.loops import refuse_loops
from tests.support.contexts import VIA, context


@pytest.mark.parametrize("via", [VIA, f"1.0 corp-proxy, {VIA}", f"{VIA}, 1.1 cdn"])
def test_our_own_via_entry_is_a_loop(via):
    with pytest.raises(LoopDetected) as refused:
        refuse_loops(context("/a", headers={"Via": via}))
    assert refused.value.code == 508


@pytest.mark.parametrize("headers", [{}, {"Via": "1.1 engadi-gateway-elsewhere"}, {"Via": "1.1 cdn"}])
def test_other_hops_pass(headers):
    assert refuse_loops(context("/a", headers=headers)) is None


def test_no_entry_yet_checks_nothing():
    """Before the deployment has its id (empty entry) no Via can be taken for ours."""
    assert refuse_loops(context("/a", headers={"Via": VIA}, via="")) is None
