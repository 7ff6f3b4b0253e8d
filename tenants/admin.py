from django.contrib import admin
from django_tenants.admin import TenantAdminMixin

from tenants.models import ApiToken, Domain, Membership, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("name", "schema_name", "status", "airflow_mode", "created_at")
    list_filter = ("status", "airflow_mode")
    search_fields = ("name", "schema_name")
    inlines = [DomainInline, MembershipInline]
    exclude = ("airflow_password_encrypted",)


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "user__email", "tenant__name")
    autocomplete_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "tenant", "key_prefix", "created_at", "last_used_at")
    readonly_fields = ("key_prefix", "key_hash", "created_at", "last_used_at")
