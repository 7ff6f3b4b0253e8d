"""The API's page-number pagination, with the total count read in the same query as the page.

DRF's PageNumberPagination asks Django's Paginator for `count` (SELECT COUNT(*)) and then for the page's rows: two
queries on every list request. Here a model queryset's page is read with `COUNT(*) OVER ()` beside each row, so
the total comes with the rows; only an empty page (past the end, or an empty list) asks for the count on its own.
Anything else (a list, a values() queryset, orphans) is paginated the stock way. The response format is DRF's.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, QuerySet, Window
from django.db.models.query import ModelIterable
from rest_framework import pagination

TOTAL = "_flowui_total"
MAX_PAGE = 1_000_000  # beyond any real list; larger page numbers are counted first, then refused as empty


class CountedPaginator(Paginator):
    def page(self, number):
        rows = self.object_list
        if self.orphans or not (isinstance(rows, QuerySet) and rows._iterable_class is ModelIterable):
            return super().page(number)  # orphans move rows between pages: the stock arithmetic
        try:
            number = int(number)
        except (TypeError, ValueError):
            return super().page(number)  # the stock error for a page that is not a number
        if number < 1 or number > MAX_PAGE:
            return super().page(number)  # the stock checks (a huge OFFSET would overflow PostgreSQL's bigint)
        bottom = (number - 1) * self.per_page
        page_rows = list(rows.annotate(**{TOTAL: Window(Count("*"))})[bottom : bottom + self.per_page])
        if not page_rows:
            return super().page(number)  # counts on its own, then the stock empty-page rules
        self.__dict__["count"] = getattr(page_rows[0], TOTAL)  # Paginator.count is a cached_property
        return self._get_page(page_rows, number, self)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = CountedPaginator
