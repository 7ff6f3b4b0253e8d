"""Platform admin: repositories (with "sync now"), sync runs with progress and errors, stored versions (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from registry import services
from registry.models import BatchJobDefinition, DependencyGroup, OperatorVersion, Repository, SyncRun


class RepositoryForm(forms.ModelForm):
    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="GitHub token (stored encrypted, never shown). Leave empty to keep the current one.",
    )
    clear_access_token = forms.BooleanField(required=False, help_text="Remove the stored token.")

    class Meta:
        model = Repository
        fields = ["slug", "name", "url", "source", "ref", "tenant", "sync_interval_minutes"]

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if not services.SLUG_RE.match(slug):
            raise forms.ValidationError("Use 2-60 lower-case letters, digits or '-', starting with a letter or digit.")
        return slug

    def clean_ref(self):
        try:
            return services.ref_check(self.cleaned_data["ref"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages)

    def clean(self):
        """The URL rules of the repository's scope (a tenant's repository: https to public hosts only); run
        here because they depend on the tenant field, which is cleaned after the URL."""
        cleaned = super().clean()
        if "url" in cleaned:
            try:
                cleaned["url"] = services.url_check(
                    url=cleaned["url"],
                    source=cleaned.get("source") or Repository.Source.GIT,
                    tenant=cleaned.get("tenant"),
                )
            except ValidationError as exc:
                self.add_error(
                    "url", exc.message_dict.get("url", exc.messages) if hasattr(exc, "error_dict") else exc.messages
                )
        return cleaned

    def save(self, commit=True):
        repository = super().save(commit=False)
        if self.cleaned_data.get("clear_access_token"):
            repository.access_token = ""
        elif self.cleaned_data.get("access_token"):
            repository.access_token = self.cleaned_data["access_token"]
        if commit:
            repository.save()
        return repository


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryForm
    list_display = ["name", "slug", "scope", "ref", "last_sync_state", "last_synced_at", "short_commit"]
    list_filter = ["last_sync_state", "source"]
    search_fields = ["name", "slug", "url"]
    readonly_fields = [
        "last_sync_state",
        "last_synced_at",
        "last_synced_commit",
        "last_sync_error",
        "available_tags",
        "has_token",
    ]
    actions = ["sync_now"]

    @admin.display(description="Scope")
    def scope(self, obj: Repository) -> str:
        return f"private to {obj.tenant}" if obj.tenant_id else "platform-wide"

    @admin.display(description="Commit")
    def short_commit(self, obj: Repository) -> str:
        return obj.last_synced_commit[:8]

    @admin.display(description="Access token", boolean=True)
    def has_token(self, obj: Repository) -> bool:
        return bool(obj.access_token_encrypted)

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        runs = [services.repository_sync_request(repository=r, user=request.user, trigger="admin") for r in queryset]
        self.message_user(
            request, f"Queued {len(runs)} sync(s); follow their progress under Sync runs.", messages.SUCCESS
        )


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["id", "repository", "state", "progress", "error_count", "trigger", "created_at", "duration"]
    list_filter = ["state", "repository"]
    readonly_fields = [
        "repository",
        "state",
        "trigger",
        "requested_by",
        "commit",
        "progress",
        "error",
        "operator_errors_html",
        "report",
        "created_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["progress_done", "progress_total"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # While a sync runs the list refreshes itself (see templates/admin/registry/syncrun/).
        active = SyncRun.objects.filter(state__in=[SyncRun.State.PENDING, SyncRun.State.RUNNING]).exists()
        return super().changelist_view(request, {**(extra_context or {}), "active_syncs": active})

    @admin.display(description="Progress")
    def progress(self, obj: SyncRun) -> str:
        return obj.progress_text or "-"

    @admin.display(description="Operator errors")
    def error_count(self, obj: SyncRun) -> int:
        return len(obj.operator_errors)

    @admin.display(description="Duration (s)")
    def duration(self, obj: SyncRun):
        return obj.duration_s

    @admin.display(description="Errors per operator")
    def operator_errors_html(self, obj: SyncRun):
        errors = obj.operator_errors
        if not errors:
            return "-"
        return format_html("<ul>{}</ul>", format_html_join("", "<li><b>{}</b>: {}</li>", errors.items()))


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OperatorVersion)
class OperatorVersionAdmin(_ReadOnlyAdmin):
    list_display = ["name", "version", "repository", "short_commit", "dependency_group", "created_at"]
    list_filter = ["repository"]
    search_fields = ["name"]

    @admin.display(description="Commit")
    def short_commit(self, obj: OperatorVersion) -> str:
        return obj.commit[:8]


@admin.register(DependencyGroup)
class DependencyGroupAdmin(_ReadOnlyAdmin):
    list_display = ["name", "repository", "requirements_hash", "image", "created_at"]
    list_filter = ["repository"]


@admin.register(BatchJobDefinition)
class BatchJobDefinitionAdmin(_ReadOnlyAdmin):
    list_display = ["job_definition_name", "tenant", "operator_version", "job_definition_arn", "job_queue_arn"]
    list_filter = ["tenant"]
