"""The one structured logger. Log ids as keys; never an email address or a message body."""
from __future__ import annotations

from functools import cached_property
from typing import Any


class _Logger:
    """Powertools' Logger, made on first use: its import is a large share of the app's cold start."""

    @cached_property
    def _logger(self) -> Any:
        from aws_lambda_powertools import Logger

        return Logger(service="mailroom")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


logger = _Logger()


def publish_counts(source: str, counts: dict[str, int], percents: dict[str, float] | None = None) -> None:
    """Publish counts (and `percents`, unit Percent) as CloudWatch metrics, namespace "mailroom", dimension
    service=`source`: in Embedded Metric Format on stdout, which Lambda's log stream carries to CloudWatch.
    Figures only, never an address."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="mailroom", service=source)
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for name, share in (percents or {}).items():
        metrics.add_metric(name=name, unit=MetricUnit.Percent, value=share)
    metrics.flush_metrics()
