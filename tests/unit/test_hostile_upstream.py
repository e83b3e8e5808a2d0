"""Every relying-party checklist item a hostile provider can probe, as a whole login through the Gateway."""

from __future__ import annotations

import pytest

from tests.unit.upstream import UPSTREAMS, build

KINDS = list(UPSTREAMS)


@pytest.mark.parametrize("kind", KINDS)
def test_an_honest_upstream_logs_the_person_in(kind: str) -> None:
    upstream = build(kind)
    outcome = upstream.login()
    assert outcome.complaints == ()
    assert outcome.error is None, outcome.reason
    assert outcome.sessions == 1
