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
