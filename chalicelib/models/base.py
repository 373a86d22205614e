"""What every table model shares: lazy binding to the configured table, TTL-aware reads, pages."""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors
from chalicelib.config import get_settings

T = TypeVar("T")
Update = Action   # one change an update makes (`Model.attribute.set(…)`, `.add`, `.remove`), as services list them
M = TypeVar("M", bound="BaseModel")


class BaseModel(Model):
    """A model whose table name, region and endpoint come from the settings on first use.

    Each subclass names its table in `Meta.logical_name`; infra/ defines a table of that name.
    Nothing connects at import time.
    """

    class Meta:
        abstract = True
        logical_name = ""
        table_name: str | None = None
        region: str | None      # set with table_name on the first connection
        host: str | None

    @classmethod
    def _get_connection(cls):  # noqa: D401 - PynamoDB hook
        if cls._connection is None:
            settings = get_settings()
            cls.Meta.table_name = settings.table_name(cls.Meta.logical_name)
            cls.Meta.region = settings.region
            cls.Meta.host = settings.aws_endpoint
        return super()._get_connection()

    @classmethod
    def find(cls: type[M], hash_key: str, range_key: str | None = None) -> M | None:
        """The item with these keys, or None."""
        try:
            return cls.get(hash_key, range_key)
        except cls.DoesNotExist:
            return None


def string_list(*, null: bool | None = None, default: Callable[[], list[str]] | None = None) -> ListAttribute[str]:
    """A list of strings. PynamoDB types `of` as the elements' own type where it takes their attribute class,
    so `ListAttribute(of=UnicodeAttribute)` would read as a list of attributes."""
    return ListAttribute(null=null, default=default, of=UnicodeAttribute)  # type: ignore[arg-type]


def written(write: Callable[[], Any]) -> bool:
    """Run one conditional write: True if it was applied, False if its condition did not hold."""
    try:
        write()
    except PynamoDBException as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def all_models() -> list[type[BaseModel]]:
    """Every concrete table model (infra/ checks that each has a table defined)."""
    import importlib
    import pkgutil

    import chalicelib.models as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    found: list[type[BaseModel]] = []
    stack = list(BaseModel.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        if not getattr(model.Meta, "abstract", False) and model.Meta.logical_name:
            found.append(model)
    return sorted(found, key=lambda m: m.Meta.logical_name)


def reset_connections() -> None:
    """Forget cached connections (tests that change settings or the emulator call this)."""
    for model in all_models():
        model._connection = None
    transaction_connection.cache_clear()


@lru_cache(maxsize=1)
def transaction_connection() -> Connection:
    """The connection PynamoDB's TransactWrite/TransactGet need."""
    settings = get_settings()
    return Connection(region=settings.region, host=settings.aws_endpoint)


def is_live(expires_at: datetime | None) -> bool:
    """False for an item whose TTL (a pynamodb TTLAttribute) has passed, even if DynamoDB has not deleted it yet."""
    return expires_at is None or expires_at > clock.now()


CONFLICT_RETRIES = 6


def transact(write: Callable[[Any], None], size: int = 1) -> list[bool]:
    """Run one TransactWrite built by `write`; for each of its (at least `size`) items, whether its condition failed
    (all False: applied; any True: nothing was written). pynamodb orders the items as condition checks,
    deletes, puts, updates, and DynamoDB's cancellation reasons follow that order.

    Concurrent transactions on one item make DynamoDB cancel some with TransactionConflict; nothing was
    written then, so they are retried with jittered backoff.
    """
    for attempt in range(CONFLICT_RETRIES):
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                write(tx)
            return [False] * size
        except TransactWriteError as exc:
            codes = [reason.code if reason else None for reason in exc.cancellation_reasons or []]
            if "ConditionalCheckFailed" in codes:
                codes += [None] * (size - len(codes))
                return [code == "ConditionalCheckFailed" for code in codes]
            retryable = "TransactionConflict" in codes or exc.cause_response_code in (
                "TransactionConflictException", "TransactionInProgressException")
            if not retryable or attempt == CONFLICT_RETRIES - 1:
                raise errors.UpstreamError("The change could not be saved just now; try again shortly.") from exc
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
    raise AssertionError("unreachable")


@dataclass
class Page(Generic[T]):
    items: list[T]
    last_key: dict[str, Any] | None


def take_page(results, limit: int) -> Page:
    """Read up to `limit` items from a PynamoDB result iterator and keep where it stopped."""
    items = []
    iterator: Iterator = iter(results)
    for item in iterator:
        items.append(item)
        if len(items) >= limit:
            break
    last_key = results.last_evaluated_key if len(items) >= limit else None
    return Page(items, last_key)
