"""One error format for the whole API: {"error": code, "detail": text, "fields": {...}}."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flowui.lib.airflow import AirflowError, AirflowUnavailable


def _code(exc: Exception) -> str:
    return getattr(exc, "default_code", None) or exc.__class__.__name__.lower()


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, AirflowUnavailable):
        return Response(
            {"error": "airflow_unavailable", "detail": f"Airflow unavailable: {exc}"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, AirflowError):
        return Response(
            {"error": "airflow_error", "detail": str(exc)},
            status=exc.status if exc.status and 400 <= exc.status < 500 else status.HTTP_502_BAD_GATEWAY,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"error": "invalid", "detail": "The request is not valid.", "fields": fields}
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        response.data = {"error": _code(exc), "detail": str(detail)}
    return response
