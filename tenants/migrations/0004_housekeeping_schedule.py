"""Registers the housekeeping dispatcher with Celery beat (django-celery-beat's database scheduler).
Idempotent: looked up by name, so re-running or a manual edit of the interval is kept."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "flowui: tenant housekeeping (archive old run results)"


def register(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    if task_model.objects.filter(name=TASK_NAME).exists():
        return
    minutes = getattr(settings, "FLOWUI_HOUSEKEEPING_INTERVAL_MINUTES", 60)
    interval, _ = interval_model.objects.get_or_create(every=minutes, period="minutes")
    task_model.objects.create(name=TASK_NAME, task="tenants.housekeeping_dispatch", interval=interval, enabled=True)


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_provisioning"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(register, unregister)]
