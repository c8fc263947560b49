"""Single-phase results stay what they were before the phases/request-model refactor (issue 14), to 0.1%."""

import json

import pytest

from tests.golden.cases import GOLDEN, compute

REL = 1e-3


@pytest.fixture(scope="module")
def now() -> dict:
    return compute()


@pytest.fixture(scope="module")
def then() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("kind", ["estimates", "searches", "deadline"])
def test_single_phase_answers_unchanged(now: dict, then: dict, kind: str) -> None:
    assert len(now[kind]) == len(then[kind])
    for a, b in zip(now[kind], then[kind], strict=True):
        for key, old in b.items():
            new = a[key]
            if isinstance(old, float):
                assert new == pytest.approx(old, rel=REL), (kind, b.get("case") or b.get("chip"), key)
            else:
                assert new == old, (kind, b.get("case") or b.get("chip"), key)
