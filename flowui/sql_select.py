"""Model instances read with hand-written SQL, for the few lookups that run on every API request.

Building and compiling an ORM query costs more than running it: on this project's machines a token lookup with
its join took 2.2 ms through the ORM and 0.5 ms as the same SQL (bench/api_load.py). Here the FROM, JOIN and WHERE
are written by hand, while each model's column list, its row-to-instance mapping and its database converters
(JSONField's decoding, ...) come from the model itself, so a field added to a model is read without a change here.
Queries go through Django's cursor: they run under the request's search path and transaction, and the test
suite's query counts see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


class ModelColumns(Generic[M]):
    """The concrete columns of `model` under a table alias: `.sql` for a SELECT list, `.load(row, start)` to build
    the instance from the row's values at start, start + 1, ... (`.width` of them)."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{quote(alias)}.{quote(field.column)}" for field in self.fields)
        self.attnames = [field.attname for field in self.fields]
        self.width = len(self.fields)
        self._converters: list[tuple[int, Any, Any]] | None = None

    def converters(self) -> list[tuple[int, Any, Any]]:
        if self._converters is None:  # the ORM's own converters for each column (Col.get_db_converters)
            found = []
            for index, field in enumerate(self.fields):
                col = field.get_col(self.model._meta.db_table)
                for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                    found.append((index, convert, col))
            self._converters = found
        return self._converters

    def load(self, row: Sequence[Any], start: int = 0) -> M:
        values = list(row[start : start + self.width])
        for index, convert, col in self.converters():
            values[index] = convert(values[index], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def load_nullable(self, row: Sequence[Any], start: int) -> M | None:
        """For a LEFT JOIN: None when the joined row is missing (its primary key column is NULL)."""
        pk_index = self.fields.index(self.model._meta.pk)
        return None if row[start + pk_index] is None else self.load(row, start)


def fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    """The first row of a query (the hot lookups here select by unique keys), or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
