"""Platform-level Celery tasks."""

from celery import shared_task
from django.db import connection


@shared_task
def ping() -> str:
    """Answers with the schema the task ran in: shows the worker is up and tenant-aware."""
    return connection.schema_name
