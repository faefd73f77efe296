"""Fixtures for the operations tests: the webhook tests' delivery helpers (reused), and a reader
of metric changes (counters live for the whole test session, so tests compare before and after)."""
import pytest
from prometheus_client import REGISTRY

from tests.webhooks.conftest import coupon, deliver, ps  # noqa: F401 - shared fixtures


def _samples() -> dict[tuple, float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in REGISTRY.collect() for sample in family.samples}


class MetricChanges:
    """`metric_changes("learnpay_checkouts_started_total")`: how much it moved since the test began."""

    def __init__(self) -> None:
        self._before = _samples()

    def __call__(self, name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return _samples().get(key, 0.0) - self._before.get(key, 0.0)


@pytest.fixture
def metric_changes(app):
    return MetricChanges()
