"""The API's page-number pagination, with the total count read in the same query as the page.

DRF's PageNumberPagination asks Django's Paginator for `count` (SELECT COUNT(*)) and then for the page's rows: two
queries on every list request. Here a model queryset's page is read with `COUNT(*) OVER ()` beside each row, so
the total comes with the rows; only an empty page (past the end, or an empty list) asks for the count on its own.
Anything else (a list, a values() queryset, orphans) is paginated the stock way. The response format is DRF's.

An unfiltered list can go further: `CompiledPages(build)` compiles `build()`'s queryset (which has no parameters)
to SQL once per process, and `.object_list()` gives the paginator an object list whose pages run that SQL with
LIMIT/OFFSET. Building and compiling the query cost about as much as running it and loading 50 rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, Model, QuerySet, Window
from django.db.models.query import ModelIterable
from rest_framework import pagination

from flowui.sql_select import convert_values, instance_builder

TOTAL = "_flowui_total"
MAX_PAGE = 1_000_000  # beyond any real list; larger page numbers are counted first, then refused as empty


M = TypeVar("M", bound=Model)


class CompiledPages(Generic[M]):
    """Pages of `build()` (a model queryset without parameters) read with its SQL, compiled once per process."""

    def __init__(self, build: Callable[[], QuerySet[M]]) -> None:
        self.build = build
        self._compiled: tuple[type[M], str, str, list[str], list[str], dict[int, Any]] | None = None
        self._lock = threading.Lock()

    def _compile(self) -> tuple[type[M], str, str, list[str], list[str], dict[int, Any]]:
        with self._lock:
            if self._compiled is None:
                queryset = self.build().annotate(**{TOTAL: Window(Count("*"))})
                fields = [field.attname for field in queryset.model._meta.concrete_fields]
                annotations = list(queryset.query.annotation_select)  # TOTAL last
                rows = queryset.values_list(*fields, *annotations)  # this column order, whatever Django's default
                compiler = rows.query.get_compiler(using=rows.db)
                sql, params = compiler.as_sql()
                if params:
                    raise ValueError("CompiledPages needs a queryset without parameters")
                converters = compiler.get_converters([column for column, _, _ in compiler.select[: compiler.col_count]])
                self._compiled = (queryset.model, rows.db, f"{sql} LIMIT %s OFFSET %s", fields, annotations, converters)
        return self._compiled

    def page(self, *, offset: int, limit: int) -> tuple[list[M], int]:
        """The rows from offset (model instances with the queryset's annotations) and the total count (0 for an
        empty page: the caller counts then)."""
        model, db, sql, fields, annotations, converters = self._compiled or self._compile()
        connection = connections[db]  # once: each use of django.db.connection is a context-local lookup
        with connection.prepared_cursor() as cursor:  # flowui.postgresql
            cursor.execute(sql, [limit, offset])
            raw_rows = cursor.fetchall()
        names, build = [*fields, *annotations], instance_builder(model)
        loaded = [build(db, names, convert_values(list(raw), converters, connection)) for raw in raw_rows]
        total = getattr(loaded[-1], TOTAL) if loaded else 0
        return loaded, total

    def object_list(self) -> CompiledList[M]:
        """The object list for the paginator; `build()`'s queryset (built only if used) serves counts and the
        stock paths."""
        return CompiledList(self)

    @cached_property
    def ordered(self) -> bool:  # what Paginator checks on every list: the same for every build()
        return self.build().ordered


class CompiledList(Generic[M]):
    def __init__(self, pages: CompiledPages[M]) -> None:
        self.pages = pages
        self.ordered = pages.ordered

    @cached_property
    def queryset(self) -> QuerySet[M]:
        # Building it (annotations resolved against the model) cost ~5% of a list request that only needs the page.
        return self.pages.build()

    def count(self) -> int:  # what Paginator.count calls
        return self.queryset.count()

    def __getitem__(self, index):
        return self.queryset[index]


class CountedPaginator(Paginator):
    def page(self, number):
        rows = self.object_list
        compiled = isinstance(rows, CompiledList)
        if self.orphans or not (compiled or (isinstance(rows, QuerySet) and rows._iterable_class is ModelIterable)):
            return super().page(number)  # orphans move rows between pages: the stock arithmetic
        try:
            number = int(number)
        except (TypeError, ValueError):
            return super().page(number)  # the stock error for a page that is not a number
        if number < 1 or number > MAX_PAGE:
            return super().page(number)  # the stock checks (a huge OFFSET would overflow PostgreSQL's bigint)
        bottom = (number - 1) * self.per_page
        if compiled:
            page_rows, total = rows.pages.page(offset=bottom, limit=self.per_page)
        else:
            page_rows = list(rows.annotate(**{TOTAL: Window(Count("*"))})[bottom : bottom + self.per_page])
            total = getattr(page_rows[0], TOTAL) if page_rows else 0
        if not page_rows:
            return super().page(number)  # counts on its own, then the stock empty-page rules
        self.__dict__["count"] = total  # Paginator.count is a cached_property
        return self._get_page(page_rows, number, self)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = CountedPaginator
