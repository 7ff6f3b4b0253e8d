"""Django's PostgreSQL backend with timestamps read by psycopg's C loader and prepared statements for the hot
lookups; django-tenants' backend builds on it (settings.ORIGINAL_BACKEND, django-tenants' hook for a custom
backend under its own).

Django registers a timestamptz loader of its own: a Python subclass of psycopg's pure-Python loader, so that values
come back in the connection's `timezone`. A list page of 50 workflows reads 100 timestamps, and parsing them was
about 15% of the request's CPU (py-spy under bench/api_load.py); psycopg's C loader parses the same text 4-5x
faster. Where Django's time zone for the connection is UTC (USE_TZ with no TIME_ZONE in DATABASES, which is how
FlowUI runs), the C loader returns the same values: aware datetimes with `datetime.timezone.utc` as tzinfo, since
Django sets the session's TimeZone to UTC on connect. Any other time zone keeps Django's loader.

`connection.prepared_cursor()`: a cursor like any other (the request's search path, transaction and query log),
whose queries with parameters go to the server as prepared statements. PostgreSQL then skips parsing and
planning: its CPU per API request (2-3 lookups) went from 1.1 to 0.5 ms under bench/api_load.py, this setting off
and on. Django's own cursors bind on the client and never prepare. A prepared statement
is re-parsed by PostgreSQL when search_path differs from the one it was prepared under (PREPARE's documentation),
so one statement serves every tenant schema. FLOWUI_DB_PREPARED_STATEMENTS=false (for a transaction-pooling
proxy that cannot keep them) leaves the parameters bound on the server, unprepared.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations
from psycopg import adapt, pq
from psycopg.abc import AdaptContext
from psycopg.types.datetime import TimestamptzLoader

# psycopg's own map holds its C loader when psycopg runs with its C extension (psycopg[binary] here).
_C_LOADER = psycopg.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
C_LOADER_AVAILABLE = _C_LOADER is not None and _C_LOADER is not TimestamptzLoader


class UtcTimestamptzLoader(adapt.Loader):
    """Instantiates psycopg's C loader: psycopg keeps the object this class returns, and a C loader object is
    called from C with no Python frame per value. The class exists because Django reads `timezone` from the
    registered loader class to decide whether a cursor needs a loader of its own (DatabaseWrapper.create_cursor).
    """

    timezone = datetime.UTC

    def __new__(cls, oid: int, context: AdaptContext | None = None):
        assert _C_LOADER is not None  # registered only where C_LOADER_AVAILABLE
        return _C_LOADER(oid, context)

    def load(self, data):  # pragma: no cover - never called: __new__ returns the C loader
        raise NotImplementedError


@lru_cache
def _adapters_with_c_loader(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", UtcTimestamptzLoader)
    return adapters


# psycopg prepares a query once it has run this many times on a connection, or at once when asked (prepare=True,
# which only PreparedCursor asks for): in effect, only when asked.
ONLY_WHEN_ASKED = 2**62


class PreparedCursor(base.CursorMixin, psycopg.Cursor):  # Django's ServerBindingCursor, preparing
    def execute(self, query, params=None, *, prepare=None, binary=None):
        # Only statements with parameters: the lookups this cursor is for, not django-tenants' `SET search_path`.
        return super().execute(query, params, prepare=bool(params) if prepare is None else prepare, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # Django reads the text from a client-binding cursor; a prepared statement's text is not kept there.
        # Only where queries are logged (DEBUG, the test suite's query counts).
        if isinstance(cursor, PreparedCursor):
            return self.compose_sql(sql, params)
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    _next_cursor_prepared = False

    def get_connection_params(self):
        params = super().get_connection_params()
        if C_LOADER_AVAILABLE and self.timezone is datetime.UTC and "context" in params:
            params["context"] = _adapters_with_c_loader(params["context"])
        if params.get("prepare_threshold") is None and settings.FLOWUI_DB_PREPARED_STATEMENTS:
            params["prepare_threshold"] = ONLY_WHEN_ASKED
        return params

    def prepared_cursor(self):
        """A cursor as `cursor()` gives (through django-tenants, which sets the search path on it, and Django's
        wrapper), whose statements with parameters are prepared on the server."""
        self._next_cursor_prepared = True
        try:
            return self.cursor()
        finally:
            self._next_cursor_prepared = False

    def create_cursor(self, name=None):
        if name is None and self._next_cursor_prepared:
            return PreparedCursor(self.connection)
        return super().create_cursor(name)
