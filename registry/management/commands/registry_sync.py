"""Sync one operator repository now, in this process: `manage.py registry_sync SLUG`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.models import Repository


class Command(BaseCommand):
    help = "Sync an operator repository now (synchronously) and print its report."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Repository slug")
        parser.add_argument(
            "--full", action="store_true", help="Also re-check operators that failed and did not change"
        )

    def handle(self, *args, slug: str, full: bool = False, **options):
        repository = Repository.objects.filter(slug=slug).first()
        if repository is None:
            raise CommandError(
                f"No repository {slug!r}; known: {', '.join(Repository.objects.values_list('slug', flat=True)) or 'none'}"
            )

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"\r  operators {done}/{total}", ending="")
            self.stdout.flush()

        sync_run = services.repository_sync_now(
            repository=repository, trigger="command", on_progress=progress, full=full
        )
        self.stdout.write("")
        if sync_run.state == sync_run.State.FAILED:
            raise CommandError(f"sync failed: {sync_run.error}")
        self.stdout.write(f"synced {repository.slug} at {sync_run.commit[:8]}: {sync_run.report.get('counts')}")
        for name, error in sync_run.operator_errors.items():
            self.stdout.write(self.style.WARNING(f"  {name}: {error}"))
