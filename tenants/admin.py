"""Platform staff's admin (public domain): tenants with their provisioning, resources, Airflow and members.

Domains, memberships, API tokens and the audit log are in tenants/admin_access.py, imported here so that the
admin's autodiscovery (which imports this module) registers them."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django_tenants.admin import TenantAdminMixin

from flowui.lib.aws import AwsError
from tenants.admin_access import ApiTokenAdmin, AuditEventAdmin, DomainAdmin, MembershipAdmin
from tenants.housekeeping import ArchiveError
from tenants.models import Domain, Membership, ProvisioningStep, Tenant
from tenants.selectors import (
    tenant_dag_id_prefix,
    tenant_dags_folder,
    tenant_provisioning_progress,
    tenant_resources,
    tenant_storage_root,
    tenants_with_provisioning,
)
from tenants.services import (
    dags_path_problem,
    tenant_create,
    tenant_delete,
    tenant_input_validate,
    tenant_provisioning_retry,
    tenant_reactivate,
    tenant_suspend,
)
from tenants.services_owner import owner_lookup, password_reset_path, tenant_owner_set

__all__ = ["ApiTokenAdmin", "AuditEventAdmin", "DomainAdmin", "MembershipAdmin", "TenantAdmin"]


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ProvisioningStepInline(admin.TabularInline):
    model = ProvisioningStep
    extra = 0
    can_delete = False
    fields = ("order", "name", "state_badge", "started_at", "finished_at", "duration", "attempts", "error", "output")
    readonly_fields = fields
    ordering = ("order",)
    verbose_name_plural = "Provisioning steps"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="state")
    def state_badge(self, step):
        return _state_badge(step.state)

    @admin.display(description="duration (s)")
    def duration(self, step):
        return step.duration_s if step.duration_s is not None else "-"


_STATE_COLORS = {"done": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "pending": "#757575", "none": "#9e9e9e"}


def _state_badge(state: str):
    return format_html(
        '<span style="color:#fff;background:{};padding:1px 6px;border-radius:3px">{}</span>',
        _STATE_COLORS.get(state, "#757575"),
        state,
    )


class TenantAdminForm(forms.ModelForm):
    """The dedicated Airflow's password is write-only: typed here, stored encrypted, never shown back."""

    airflow_url = forms.URLField(required=False, assume_scheme="https", help_text="Dedicated Airflow only.")
    domain = forms.CharField(required=False)
    owner = forms.CharField(
        required=False,
        label="Owner",
        help_text="An existing user's username or e-mail, or a new e-mail address: a user is created with no "
        "password and you get a link where they set one.",
    )
    airflow_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Dedicated Airflow only. Leave empty to keep the stored password.",
    )

    class Meta:
        model = Tenant
        fields = (
            "schema_name",
            "name",
            "status",
            "airflow_mode",
            "airflow_url",
            "airflow_username",
            "airflow_dags_path",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Plain text: the admin renders help texts as HTML, so "<schema>" would vanish.
        suffix = settings.FLOWUI_TENANT_DOMAIN_SUFFIX
        self.fields["domain"].help_text = (
            f"New tenants only. Leave empty for the schema name (with '-' for '_') followed by .{suffix}, "
            f"e.g. acme_corp gives acme-corp.{suffix}."
        )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            try:
                owner_lookup(identifier=cleaned.get("owner", ""))
            except ValidationError as exc:
                self.add_error("owner", exc.messages)
            try:
                cleaned["domain"] = tenant_input_validate(
                    schema_name=cleaned.get("schema_name", ""),
                    name=cleaned.get("name", ""),
                    domain=cleaned.get("domain") or None,
                    airflow_mode=cleaned.get("airflow_mode", Tenant.AirflowMode.SHARED),
                    airflow_url=cleaned.get("airflow_url", ""),
                    airflow_dags_path=cleaned.get("airflow_dags_path", ""),
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        else:
            if cleaned.get("airflow_mode") == Tenant.AirflowMode.DEDICATED and not cleaned.get("airflow_url"):
                self.add_error("airflow_url", "A dedicated Airflow needs its URL.")
            if problem := dags_path_problem(cleaned.get("airflow_dags_path", "")):
                self.add_error("airflow_dags_path", problem)
        return cleaned


@admin.register(Tenant)
class TenantAdmin(TenantAdminMixin, admin.ModelAdmin):
    form = TenantAdminForm
    change_form_template = "admin/tenants/tenant/change_form.html"
    list_display = ("name", "schema_name", "status", "airflow_mode", "provisioning", "created_at")
    list_filter = ("status", "airflow_mode")
    search_fields = ("name", "schema_name")
    inlines = [ProvisioningStepInline, DomainInline, MembershipInline]
    actions = ["retry_provisioning", "suspend", "reactivate", "archive_and_delete"]
    readonly_fields = ("provisioning_overview", "resources_overview", "airflow_overview", "created_at")

    def get_queryset(self, request):
        return tenants_with_provisioning()

    def get_fieldsets(self, request, obj=None):
        airflow = ("airflow_mode", "airflow_url", "airflow_username", "airflow_password", "airflow_dags_path")
        if obj is None:
            return [(None, {"fields": ("schema_name", "name", "domain", "owner")}), ("Airflow", {"fields": airflow})]
        return [
            (None, {"fields": ("schema_name", "name", "status", "created_at")}),
            ("Provisioning", {"fields": ("provisioning_overview", "resources_overview")}),
            ("Airflow", {"fields": ("airflow_overview", *airflow)}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "schema_name") if obj else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def has_delete_permission(self, request, obj=None):
        return False  # deletion archives first: use the "Archive and delete" action

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- list and page -------------------------------------------------------------------
    @admin.display(description="provisioning")
    def provisioning(self, tenant):
        total = getattr(tenant, "steps_total", 0)
        done = getattr(tenant, "steps_done", 0)
        state = (
            "none"
            if not total
            else "failed"
            if tenant.steps_failed
            else "done"
            if done == total
            else ("running" if tenant.steps_running else "pending")
        )
        percent = int(100 * done / total) if total else 0
        return format_html(
            '<div title="{}" style="width:120px;background:#eee;border-radius:3px;display:inline-block;'
            'vertical-align:middle"><div style="width:{}%;background:{};height:10px;border-radius:3px"></div>'
            "</div> {}/{} {}",
            state,
            percent,
            _STATE_COLORS[state],
            done,
            total,
            state,
        )

    @admin.display(description="progress")
    def provisioning_overview(self, tenant):
        progress = tenant_provisioning_progress(tenant=tenant)
        if progress["state"] == "failed":
            # The error starts with the step's name ("storage: cannot ...").
            return format_html(
                "{} - {}/{} steps done; stopped at <b>{}</b>",
                _state_badge("failed"),
                progress["done"],
                progress["total"],
                progress["error"],
            )
        return format_html(
            "{} - {}/{} steps done", _state_badge(progress["state"]), progress["done"], progress["total"]
        )

    @admin.display(description="resources")
    def resources_overview(self, tenant):
        res = tenant_resources(tenant=tenant)
        rows = [("storage root", str(tenant_storage_root(tenant=tenant)))]
        if res:
            rows += [
                ("deploy mode", res.deploy_mode),
                ("S3 bucket", res.bucket_name or "-"),
                (
                    "EFS access point",
                    f"{res.access_point_id} on {res.efs_file_system_id}" if res.access_point_id else "-",
                ),
                ("POSIX uid/gid", f"{res.posix_uid}/{res.posix_gid}" if res.posix_uid is not None else "-"),
                ("Batch job role", res.role_arn or "-"),
            ]
            if res.archive_location:
                rows.append(("archive", f"{res.archive_location} (sha256 {res.archive_sha256[:12]}…)"))
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td><code>{}</code></td></tr>", rows),
        )

    @admin.display(description="Airflow")
    def airflow_overview(self, tenant):
        url = tenant.airflow_url if tenant.airflow_mode == Tenant.AirflowMode.DEDICATED else "(shared)"
        return format_html(
            "{} - {}; DAG files in <code>{}</code>; DAG ids start with <code>{}</code>",
            tenant.get_airflow_mode_display(),
            url,
            tenant_dags_folder(tenant=tenant),
            tenant_dag_id_prefix(tenant=tenant),
        )

    # --- saving: a new tenant goes through the service (cloned schema, provisioning) ---------------
    def save_model(self, request, obj, form, change):
        password = form.cleaned_data.get("airflow_password")
        if change:
            if password:
                obj.airflow_password = password
            obj.save()
            return
        tenant = tenant_create(
            schema_name=obj.schema_name,
            name=obj.name,
            domain=form.cleaned_data.get("domain") or None,
            airflow_mode=obj.airflow_mode,
            airflow_url=obj.airflow_url,
            airflow_username=obj.airflow_username,
            airflow_password=password or "",
            airflow_dags_path=obj.airflow_dags_path,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the created row.
        obj.pk = tenant.pk
        obj._state.adding = False
        obj._state.db = tenant._state.db
        messages.info(request, f"Provisioning of {tenant.schema_name} started.")
        owner, created = tenant_owner_set(tenant=tenant, identifier=form.cleaned_data.get("owner", ""))
        if created:
            domain = tenant.domains.order_by("id").values_list("domain", flat=True).first()
            port = request.get_port()
            host = domain + (f":{port}" if port not in ("80", "443") else "")
            link = f"{request.scheme}://{host}{password_reset_path(user=owner)}"
            messages.warning(
                request,
                format_html(
                    "Created user {} ({}) as the owner, with no password. Send them this link to set one "
                    '(it works once, for {} days): <a href="{}" class="owner-reset-link">{}</a>',
                    owner.get_username(),
                    owner.email,
                    settings.PASSWORD_RESET_TIMEOUT // 86400,
                    link,
                    link,
                ),
            )
        else:
            messages.info(request, f"{owner.get_username()} owns {tenant.name}.")

    # --- retry: an action and a button on the tenant's page -------------------------------------
    def get_urls(self):
        urls = super().get_urls()
        retry = path(
            "<path:object_id>/retry-provisioning/",
            self.admin_site.admin_view(self.retry_view),
            name="tenants_tenant_retry_provisioning",
        )
        return [retry, *urls]

    def retry_view(self, request, object_id):
        tenant = self.get_object(request, object_id)
        if tenant is None or not self.has_change_permission(request, tenant):
            raise PermissionDenied
        if request.method == "POST":
            self._retry(request, tenant)
        return redirect("admin:tenants_tenant_change", tenant.pk)

    def _retry(self, request, tenant):
        step = tenant_provisioning_retry(tenant=tenant)
        if step is None:
            messages.info(request, f"{tenant.schema_name}: every provisioning step is done.")
        else:
            messages.success(request, f"{tenant.schema_name}: provisioning resumes at {step.name}.")

    @admin.action(description="Retry provisioning (resume at the failed step)")
    def retry_provisioning(self, request, queryset):
        for tenant in queryset:
            self._retry(request, tenant)

    @admin.action(description="Suspend (its users are refused)")
    def suspend(self, request, queryset):
        for tenant in queryset:
            tenant_suspend(tenant=tenant)
        messages.success(request, f"{queryset.count()} tenant(s) suspended.")

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset):
        for tenant in queryset:
            try:
                tenant_reactivate(tenant=tenant)
            except ValidationError as exc:
                messages.error(request, f"{tenant.schema_name}: {' '.join(exc.messages)}")

    @admin.action(description="Archive and delete…")
    def archive_and_delete(self, request, queryset):
        """Two steps: the first archives the data and shows what would be removed; only the confirmation
        (a second POST) removes the cloud resources, the files and the schema."""
        confirmed = request.POST.get("confirm") == "yes"
        results = []
        for tenant in queryset:
            try:
                results.append(tenant_delete(tenant=tenant, confirm=confirmed))
            except (ArchiveError, AwsError, ValidationError, OSError) as exc:
                messages.error(request, f"{tenant.schema_name}: nothing was removed: {exc}")
        if confirmed:
            for result in results:
                messages.success(request, f"{result['tenant']} deleted; its archive: {result['archive']}")
            return None
        if not results:
            return None
        return TemplateResponse(
            request,
            "admin/tenants/tenant/delete_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": "Archive done: confirm the deletion",
                "results": results,
                "queryset": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )
