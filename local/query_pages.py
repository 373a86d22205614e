"""DynamoDB Query pages in the emulator at the cost of the queried partition, not of the whole table.

moto (5.2) answers every page of a Query on a table's key by sorting every item of the table
(`Table.all_items()`, whose sort compares moto's DynamoType objects, each comparison recomputing both
values), keeping the partition's items, sorting those again, and then walking from the first one past
ExclusiveStartKey with `_item_comes_before_dct` (two more DynamoType constructions and comparisons per
item). Every page thus costs a sort of the whole table and a walk of the partition up to the start key, so
paging through a partition costs (pages × table size): an export of a 100,000-member list spent most of its
two and a half minutes there (cProfile, paging a 20,000-item partition: 2-6 million `cast_value` calls,
most of the time, from the sorts, DynamoType `__eq__`/`__lt__` and `_item_comes_before_dct`).

`install()` makes a Query on a table's own key (no IndexName) take the partition's items from the table's
dict of partitions, sort them by the range key's value (what DynamoType's `<` compares), and find where
the page starts by bisecting with moto's own `_item_comes_before_dct` (it is False from the start key on, in
the sorted order). From there on the page is made by moto's own loop, copied unchanged: Limit counted as
moto counts it, the 1 MB size cut, the range key condition, the legacy filters, the deep copy, the
FilterExpression after the Limit, the projection and the LastEvaluatedKey. A Query on an index, or on a
table without a range key, goes to moto as it is.

It also makes `Table.all_items()` (used by index Queries and Scans) sort by the keys' values rather than
by DynamoType objects: the same order, since moto refuses (PutItem, BatchWriteItem, TransactWriteItems) an
item whose table key has another type than the table's definitions, so the values of one key attribute are
of one type and compare as moto's DynamoTypes do. tests/unit/test_query_pages.py compares patched and
unpatched answers.
"""
from __future__ import annotations

import bisect
import copy
from itertools import islice
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

_original_query = Table.query
_original_all_items = Table.all_items
_installed = False


def _all_items(self: Table) -> list[Item]:
    if self.range_key_attr:
        items = [item for partition in self.items.values() for item in partition.values()]
    else:
        items = list(self.items.values())
    return sorted(items, key=lambda x: (x.hash_key.cast_value, x.range_key.cast_value)
                  if x.range_key else x.hash_key.cast_value)


def _query(self: Table, hash_key: DynamoType | None, range_comparison: str | None, range_objs: list[DynamoType],
           limit: int, exclusive_start_key: dict[str, Any], scan_index_forward: bool,
           projection_expressions: list[list[str]] | None, index_name: str | None = None,
           consistent_read: bool = False, filter_expression: Any = None,
           hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
           range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
           **filter_kwargs: Any) -> tuple[list[Item], int, dict[str, Any] | None]:
    if index_name or not self.range_key_attr or hash_key is None:
        return _original_query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                               scan_index_forward, projection_expressions, index_name, consistent_read,
                               filter_expression, hash_key_conditions, range_key_conditions, **filter_kwargs)
    last_range_key_name = range_key_conditions[-1][0] if range_key_conditions else None
    hash_attrs = [self.hash_key_attr]
    range_attrs: list[str | None] = [self.range_key_attr]
    partition = self.items.get(hash_key)   # .get: the table's defaultdict must not grow a partition
    possible_results = sorted(partition.values(), key=lambda item: item.range_key.cast_value) if partition else []
    if scan_index_forward is False:
        possible_results.reverse()
    start = 0
    if exclusive_start_key is not None:
        start = bisect.bisect_left(possible_results, True, key=lambda item: not self._item_comes_before_dct(
            item, exclusive_start_key, hash_attrs, range_attrs, scan_index_forward))

    # From here on moto's own Table.query, unchanged (index-only branches left out).
    results: list[Item] = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    for result in islice(possible_results, start, None):
        reached_length_limit = len(results) == limit
        reached_size_limit = (result_size + result.size()) > RESULT_SIZE_LIMIT
        if reached_length_limit or reached_size_limit:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
            break

        if not range_comparison and not filter_kwargs:
            results.append(result)
            result_size += result.size()
            scanned_count += 1

        if range_comparison:
            if last_range_key_name and result.attrs.get(last_range_key_name):
                if result.attrs[last_range_key_name].compare(range_comparison, range_objs):
                    results.append(result)
                    result_size += result.size()
                    scanned_count += 1
            elif result.range_key.compare(range_comparison, range_objs):
                results.append(result)
                result_size += result.size()
                scanned_count += 1

        if filter_kwargs:
            for field, value in filter_kwargs.items():
                dynamo_types = [DynamoType(ele) for ele in value["AttributeValueList"]]
                if result.attrs.get(field).compare(value["ComparisonOperator"], dynamo_types):
                    results.append(result)
                    result_size += result.size()
            scanned_count += 1

    results = copy.deepcopy(results)
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


def install() -> None:
    """Make moto's DynamoDB Query and all_items work as described above (idempotent)."""
    global _installed
    if not _installed:
        Table.query = _query   # type: ignore[method-assign]
        Table.all_items = _all_items   # type: ignore[method-assign]
        _installed = True
