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
        self._converters: dict[int, tuple[list[Any], Any]] | None = None

    def converters(self) -> dict[int, tuple[list[Any], Any]]:
        if self._converters is None:  # the ORM's own converters for each column, as its compiler lists them
            found = {}
            for index, field in enumerate(self.fields):
                col = field.get_col(self.model._meta.db_table)
                if convert_all := connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                    found[index] = (convert_all, col)
            self._converters = found
        return self._converters

    def load(self, row: Sequence[Any], start: int = 0) -> M:
        values = convert_values(list(row[start : start + self.width]), self.converters(), connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def load_nullable(self, row: Sequence[Any], start: int) -> M | None:
        """For a LEFT JOIN: None when the joined row is missing (its primary key column is NULL)."""
        pk_index = self.fields.index(self.model._meta.pk)
        return None if row[start + pk_index] is None else self.load(row, start)


def convert_values(values: list[Any], converters: dict[int, tuple[list[Any], Any]], connection: Any) -> list[Any]:
    """Apply the ORM's database converters to one row's values in place, as its compiler does
    ({column index: (converters, expression)}, the shape of SQLCompiler.get_converters)."""
    for index, (convert_all, expression) in converters.items():
        for convert in convert_all:
            values[index] = convert(values[index], expression, connection)
    return values


def fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    """The first row of a query (the hot lookups here select by unique keys), or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
