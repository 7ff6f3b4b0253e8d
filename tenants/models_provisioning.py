"""What provisioning did for a tenant: one row per pipeline step, and the cloud resources it owns."""

from __future__ import annotations

from django.db import models


class ProvisioningStep(models.Model):
    """One step of a tenant's provisioning pipeline (tenants.provisioning), in pipeline order."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="provisioning_steps")
    name = models.CharField(max_length=32)
    order = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Ids/ARNs/paths of what the step created or found, so a re-run looks them up instead of creating.
    output = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "tenants"
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="one_provisioning_step_per_name")]
        ordering = ["tenant_id", "order"]

    def __str__(self) -> str:
        return f"{self.tenant} {self.name}: {self.state}"

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 3)
        return None


class TenantResources(models.Model):
    """The tenant's own storage and cloud resources (aws mode), and where its data went when deleted."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="resources")
    deploy_mode = models.CharField(max_length=16, default="local")
    # The POSIX identity of the tenant's files on the shared EFS (its access point enforces it).
    posix_uid = models.PositiveIntegerField(null=True, blank=True, unique=True)
    posix_gid = models.PositiveIntegerField(null=True, blank=True, unique=True)
    storage_root = models.CharField(max_length=500, blank=True)
    bucket_name = models.CharField(max_length=63, blank=True)
    bucket_arn = models.CharField(max_length=200, blank=True)
    efs_file_system_id = models.CharField(max_length=64, blank=True)
    access_point_id = models.CharField(max_length=64, blank=True)
    access_point_arn = models.CharField(max_length=300, blank=True)
    role_name = models.CharField(max_length=64, blank=True)
    role_arn = models.CharField(max_length=300, blank=True)
    archive_location = models.CharField(max_length=500, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "tenants"
        verbose_name_plural = "tenant resources"

    def __str__(self) -> str:
        return f"resources of {self.tenant}"
