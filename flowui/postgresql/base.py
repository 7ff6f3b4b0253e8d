"""Django's PostgreSQL backend with timestamps read by psycopg's C loader; django-tenants' backend builds on it
(settings.ORIGINAL_BACKEND, django-tenants' hook for a custom backend under its own).

Django registers a timestamptz loader of its own: a Python subclass of psycopg's pure-Python loader, so that values
come back in the connection's `timezone`. A list page of 50 workflows reads 100 timestamps, and parsing them was
about 15% of the request's CPU (py-spy under bench/api_load.py); psycopg's C loader parses the same text 4-5x
faster. Where Django's time zone for the connection is UTC (USE_TZ with no TIME_ZONE in DATABASES, which is how
FlowUI runs), the C loader returns the same values: aware datetimes with `datetime.timezone.utc` as tzinfo, since
Django sets the session's TimeZone to UTC on connect. Any other time zone keeps Django's loader.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import psycopg
from django.db.backends.postgresql import base
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


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if C_LOADER_AVAILABLE and self.timezone is datetime.UTC and "context" in params:
            params["context"] = _adapters_with_c_loader(params["context"])
        return params
