"""Model instances read with hand-written SQL, for the few lookups that run on every API request.

Building and compiling an ORM query costs more than running it: on this project's machines a token lookup with
its join took 2.2 ms through the ORM and 0.5 ms as the same SQL (bench/api_load.py). Here the FROM, JOIN and WHERE
are written by hand, while each model's column list, its row-to-instance mapping and its database converters
(JSONField's decoding, ...) come from the model itself, so a field added to a model is read without a change here.
Queries go through Django's cursor, as prepared statements (flowui.postgresql): they run under the request's
search path and transaction, and the test suite's query counts see them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model, signals
from django.db.models.base import ModelState

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
        return model_instance(self.model, connection.alias, self.attnames, values)

    def load_nullable(self, row: Sequence[Any], start: int) -> M | None:
        """For a LEFT JOIN: None when the joined row is missing (its primary key column is NULL)."""
        pk_index = self.fields.index(self.model._meta.pk)
        return None if row[start + pk_index] is None else self.load(row, start)


def model_instance(model: type[M], db: str, attnames: Sequence[str], values: Sequence[Any]) -> M:
    """What Model.from_db(db, attnames, values) builds: a saved instance. `attnames` are the model's concrete
    fields in their order, optionally followed by extra attributes (annotations), set as attributes."""
    return instance_builder(model)(db, attnames, values)


def instance_builder(model: type[M]) -> Callable[[str, Sequence[str], Sequence[Any]], M]:
    """model_instance for many rows of one model: the choice below made once.

    A plain model (`plain_init`) is built without Model.__init__'s per-field work, which was ~10% of an API
    detail request's CPU (five instances) and 4x the cost of the rest of building a list page's 50 rows.
    """
    return partial(_plain_instance, model) if plain_init(model) else partial(_instance_from_db, model)


def _plain_instance(model: type[M], db: str, attnames: Sequence[str], values: Sequence[Any]) -> M:
    instance = model.__new__(model)
    state = ModelState()
    state.adding, state.db = False, db
    instance.__dict__.update(zip(attnames, values, strict=True), _state=state)
    return instance


def _instance_from_db(model: type[M], db: str, attnames: Sequence[str], values: Sequence[Any]) -> M:
    width = len(model._meta.concrete_fields)
    instance = model.from_db(db, attnames[:width], values[:width])
    for name, value in zip(attnames[width:], values[width:], strict=True):
        setattr(instance, name, value)
    return instance


def plain_init(model: type[Model]) -> bool:
    """Whether building an instance without Model.__init__ is what __init__ would build: no pre_init/post_init
    receivers, no __init__ or from_db of the model's own."""
    return (
        model.__init__ is Model.__init__
        and model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
    )


def convert_values(values: list[Any], converters: dict[int, tuple[list[Any], Any]], connection: Any) -> list[Any]:
    """Apply the ORM's database converters to one row's values in place, as its compiler does
    ({column index: (converters, expression)}, the shape of SQLCompiler.get_converters)."""
    for index, (convert_all, expression) in converters.items():
        for convert in convert_all:
            values[index] = convert(values[index], expression, connection)
    return values


def fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    """The first row of a query (the hot lookups here select by unique keys), or None. Prepared on the server
    (flowui.postgresql)."""
    with connection.prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
