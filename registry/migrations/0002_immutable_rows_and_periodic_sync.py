"""Stored operator versions and dependency groups refuse UPDATEs at the database level; the periodic
repository sync is registered with django-celery-beat (every 5 minutes the dispatcher syncs the repositories
whose interval has elapsed)."""

from django.db import migrations

IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION registry_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable once stored', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS registry_operatorversion_immutable ON registry_operatorversion;
CREATE TRIGGER registry_operatorversion_immutable BEFORE UPDATE ON registry_operatorversion
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_update();
DROP TRIGGER IF EXISTS registry_dependencygroup_immutable ON registry_dependencygroup;
CREATE TRIGGER registry_dependencygroup_immutable BEFORE UPDATE ON registry_dependencygroup
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_update();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS registry_operatorversion_immutable ON registry_operatorversion;
DROP TRIGGER IF EXISTS registry_dependencygroup_immutable ON registry_dependencygroup;
"""

TASK_NAME = "registry: sync repositories whose interval elapsed"


def periodic_sync_add(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME, defaults={"interval": schedule, "task": "registry.tasks.registry_sync_dispatch"}
    )


def periodic_sync_remove(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunSQL(IMMUTABLE_SQL, REVERSE_SQL),
        migrations.RunPython(periodic_sync_add, periodic_sync_remove),
    ]
