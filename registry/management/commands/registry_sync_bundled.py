"""Ensure the platform-wide repository of the bundled operators and sync it now (called by `make run`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from registry import services


class Command(BaseCommand):
    help = "Create (if needed) the bundled operators repository (FLOWUI_BUNDLED_OPERATORS_URL) and sync it now."

    def handle(self, *args, **options):
        services.registry_sync_schedule_ensure()
        repository = services.bundled_repository_ensure()
        self.stdout.write(f"syncing {repository.url} @ {repository.ref}")

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"\r  operators {done}/{total}", ending="")
            self.stdout.flush()

        sync_run = services.repository_sync_now(repository=repository, trigger="bundled", on_progress=progress)
        self.stdout.write("")
        if sync_run.state == sync_run.State.FAILED:
            # Not fatal for `make run`: the platform works without the bundled operators.
            self.stdout.write(self.style.WARNING(f"bundled operators not synced: {sync_run.error}"))
            self._sync_configured()
            return
        counts = sync_run.report.get("counts", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"bundled operators synced at {sync_run.commit[:8]}: {counts.get('synced', 0)} new, "
                f"{counts.get('unchanged', 0)} unchanged, {counts.get('error', 0)} with errors "
                f"({sync_run.duration_s} s)"
            )
        )
        for name, error in sync_run.operator_errors.items():
            self.stdout.write(self.style.WARNING(f"  {name}: {error}"))
        self._sync_configured()

    def _sync_configured(self) -> None:
        """CODE_REPOSITORY_SOURCE=github: the GITHUB_REPOSITORY_NAME repository is platform-wide too."""
        try:
            repository = services.configured_repository_ensure()
        except ValidationError as exc:
            self.stdout.write(self.style.WARNING(f"configured repository ignored: {' '.join(exc.messages)}"))
            return
        if repository is None:
            return
        self.stdout.write(f"syncing {repository.url} @ {repository.ref}")
        sync_run = services.repository_sync_now(repository=repository, trigger="bundled")
        if sync_run.state == sync_run.State.FAILED:
            self.stdout.write(self.style.WARNING(f"{repository.slug} not synced: {sync_run.error}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{repository.slug} synced: {sync_run.report.get('counts')}"))
