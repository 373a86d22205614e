"""The one structured logger, and the metrics of an invocation. Log ids as keys; never an email address or a message
body.

`logger` and `metrics` are made once, when the module loads. `instrumented` wraps a Lambda entry point
(chalicelib/handlers/entry.py wraps every one): each line it logs carries the function's context, `cold_start` and
the correlation id; the metrics its code publishes (`publish_counts`, `count`) leave as one Embedded Metric Format
line per source at its end, with the cold-start metric.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "mailroom"
NAMESPACE = "mailroom"   # CloudWatch's namespace of every metric the code publishes (infra/operations.py reads them)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Most invocations publish no metric of their own: log_metrics would warn about it on every one.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# Set while an instrumented entry point runs: its metrics wait for its end; anywhere else (a script, a test calling
# a service) they leave at once.
_in_invocation: ContextVar[bool] = ContextVar("in_invocation", default=False)

R = TypeVar("R")


def instrumented(handler: Callable[[dict[str, Any], Any], R],
                 correlation_id_path: str | None = None) -> Callable[[dict[str, Any], Any], R]:
    """`handler(event, context)` as a Lambda entry point: its lines carry the Lambda context, `cold_start` and the
    correlation id found at `correlation_id_path` in the event (JMESPath); its metrics are flushed once at its end,
    with the cold-start metric."""

    @functools.wraps(handler)
    def invocation(event: dict[str, Any], context: Any) -> R:
        token = _in_invocation.set(True)
        try:
            return handler(event, context)
        finally:
            _in_invocation.reset(token)

    with_metrics = metrics.log_metrics(invocation, capture_cold_start_metric=True)
    return logger.inject_lambda_context(with_metrics, correlation_id_path=correlation_id_path, clear_state=True)


def publish_counts(source: str, counts: Mapping[str, int], percents: Mapping[str, float] | None = None) -> None:
    """Publish counts (and `percents`, unit Percent) as CloudWatch metrics, namespace "mailroom", dimension
    service=`source`, in Embedded Metric Format on stdout (Lambda's log stream carries it to CloudWatch): at the end
    of the invocation, or at once outside one. Figures only, never an address."""
    held = metrics.provider.dimension_set.get("service")
    if held not in (None, source) and metrics.provider.metric_set:
        metrics.flush_metrics()   # another source's figures, under their own dimension
    metrics.add_dimension(name="service", value=source)
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for name, share in (percents or {}).items():
        metrics.add_metric(name=name, unit=MetricUnit.Percent, value=share)
    if not _in_invocation.get():
        metrics.flush_metrics()


def count(source: str, **counts: int) -> None:
    """`publish_counts(source, counts)`, the counts given by name: one line where a service counts what it did."""
    publish_counts(source, counts)
