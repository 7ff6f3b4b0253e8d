"""Operator registry models (public schema, shared by all tenants).

A Repository is platform-wide (tenant is null) or private to one tenant. A sync (SyncRun) reads its pinned
ref and stores one OperatorVersion per operator folder that changed. OperatorVersion and DependencyGroup rows
are immutable once stored (a database trigger refuses updates), so a workflow pinned to one keeps working.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from flowui import crypto


class Repository(models.Model):
    class Source(models.TextChoices):
        GITHUB = "github", "GitHub (https URL + token)"
        GIT = "git", "Any git URL (also a local path or file://)"

    class SyncState(models.TextChoices):
        NEVER = "never", "Never synced"
        RUNNING = "running", "Syncing"
        OK = "ok", "Synced"
        PARTIAL = "partial", "Synced with operator errors"
        FAILED = "failed", "Failed"

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500, help_text="https://github.com/org/repo.git, any git URL, or file:///path")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.GIT)
    ref = models.CharField(max_length=200, default="main", help_text="Tag, branch or commit to sync.")
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="operator_repositories",
        help_text="Empty: platform-wide. Set: private to that tenant.",
    )
    access_token_encrypted = models.TextField(blank=True)
    sync_interval_minutes = models.PositiveIntegerField(
        default=60, help_text="Periodic sync interval; 0 turns periodic syncs off."
    )
    last_sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.NEVER)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_commit = models.CharField(max_length=40, blank=True)
    last_sync_error = models.TextField(blank=True)
    available_tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted) if self.access_token_encrypted else ""

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def is_platform_wide(self) -> bool:
        return self.tenant_id is None


class SyncRun(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="sync_runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    trigger = models.CharField(max_length=20, default="manual")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commit = models.CharField(max_length=40, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # {"operators": {folder: {"status": synced|unchanged|error, "version", "error"}}, "counts": {...}}
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sync #{self.pk} of {self.repository} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.PENDING, self.State.RUNNING)

    @property
    def progress_text(self) -> str:
        return f"{self.progress_done} of {self.progress_total}" if self.progress_total else ""

    @property
    def operator_errors(self) -> dict[str, str]:
        operators = (self.report or {}).get("operators", {})
        return {name: entry["error"] for name, entry in operators.items() if entry.get("status") == "error"}

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 2)
        return None


class DependencyGroup(models.Model):
    """One group of dependencies/dependencies_map.json as synced; a changed requirement list is a new row."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="dependency_groups")
    name = models.CharField(max_length=100)
    requirements = models.JSONField(default=list)
    requirements_hash = models.CharField(max_length=16)
    image = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "name", "requirements_hash", "image"], name="one_dependency_group_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.requirements_hash})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("A stored dependency group is immutable; a changed group is a new row.")
        super().save(*args, **kwargs)


class OperatorVersion(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="operator_versions")
    name = models.CharField(max_length=80)
    version = models.CharField(max_length=50)
    commit = models.CharField(max_length=40)
    tree_hash = models.CharField(max_length=40, help_text="git tree hash of operators/{name} (incremental sync).")
    input_schema = models.JSONField(default=dict)
    output_schema = models.JSONField(null=True, blank=True)
    secrets_schema = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict)
    dependency_group = models.ForeignKey(
        DependencyGroup, null=True, blank=True, on_delete=models.RESTRICT, related_name="operator_versions"
    )
    image = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["repository__name", "name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "name", "version", "commit"], name="one_operator_version_per_commit"
            )
        ]
        indexes = [models.Index(fields=["repository", "name", "tree_hash"])]

    def __str__(self) -> str:
        return f"{self.repository.slug}/{self.name} {self.version} ({self.commit[:8]})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("A stored operator version is immutable.")
        super().save(*args, **kwargs)

    @property
    def description(self) -> str:
        return self.metadata.get("description", "")

    @property
    def tags(self) -> list[str]:
        return list(self.metadata.get("tags", []))

    @property
    def style(self) -> dict:
        return self.metadata.get("style", {})

    @property
    def label(self) -> str:
        return self.style.get("label") or self.name

    @property
    def dependency_group_name(self) -> str:
        return (
            self.dependency_group.name if self.dependency_group_id else self.metadata.get("dependency_group", "default")
        )


class BatchJobDefinition(models.Model):
    """aws mode: the Batch job definition and queue one tenant runs one operator version with."""

    operator_version = models.ForeignKey(OperatorVersion, on_delete=models.CASCADE, related_name="batch_definitions")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="batch_job_definitions")
    job_definition_name = models.CharField(max_length=128)
    job_definition_arn = models.CharField(max_length=300)
    job_queue_arn = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "operator_version"]
        constraints = [
            models.UniqueConstraint(fields=["operator_version", "tenant"], name="one_batch_definition_per_tenant")
        ]

    def __str__(self) -> str:
        return self.job_definition_name
