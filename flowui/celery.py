"""The tenant-aware Celery app: a task sent inside a tenant's schema runs in that schema."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowui.settings")

app = CeleryApp("flowui")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.imports = ("flowui.tasks",)  # `flowui` is the project package, not an installed app
