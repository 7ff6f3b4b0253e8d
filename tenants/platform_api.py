"""REST API for platform staff on the public domain: list, create and inspect tenants, retry provisioning.

GET  /api/tenants/                   tenants with their provisioning progress
POST /api/tenants/                   create one (provisioning starts once committed)
GET  /api/tenants/<schema>/          one tenant with its steps and resources
POST /api/tenants/<schema>/retry/    resume provisioning at the failed step
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from rest_framework import permissions, serializers, status
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import ProvisioningStep, Tenant
from tenants.selectors import (
    tenant_dag_id_prefix,
    tenant_dags_folder,
    tenant_primary_domain,
    tenant_provisioning_progress,
    tenant_resources,
    tenants_with_provisioning,
)
from tenants.services import tenant_create, tenant_provisioning_retry


class TenantCreateSerializer(serializers.Serializer):
    schema_name = serializers.CharField(max_length=41)
    name = serializers.CharField(max_length=100)
    domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
    airflow_mode = serializers.ChoiceField(choices=Tenant.AirflowMode.values, default=Tenant.AirflowMode.SHARED)
    airflow_url = serializers.URLField(required=False, allow_blank=True, default="")
    airflow_username = serializers.CharField(required=False, allow_blank=True, default="")
    airflow_password = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)
    airflow_dags_path = serializers.CharField(required=False, allow_blank=True, default="")


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProvisioningStep
        fields = ("name", "order", "state", "started_at", "finished_at", "attempts", "error", "output")


def _tenant_data(tenant: Tenant, *, detail: bool = False) -> dict:
    data = {
        "id": tenant.pk,
        "schema_name": tenant.schema_name,
        "name": tenant.name,
        "status": tenant.status,
        "domain": tenant_primary_domain(tenant=tenant),
        "airflow": {
            "mode": tenant.airflow_mode,
            "url": tenant.airflow_url if tenant.airflow_mode == Tenant.AirflowMode.DEDICATED else "",
            "dags_folder": str(tenant_dags_folder(tenant=tenant)),
            "dag_id_prefix": tenant_dag_id_prefix(tenant=tenant),
        },
        "provisioning": tenant_provisioning_progress(tenant=tenant),
        "created_at": tenant.created_at,
    }
    if detail:
        data["steps"] = StepSerializer(tenant.provisioning_steps.order_by("order"), many=True).data
        res = tenant_resources(tenant=tenant)
        data["resources"] = (
            {
                "deploy_mode": res.deploy_mode,
                "storage_root": res.storage_root,
                "bucket": res.bucket_name,
                "access_point_id": res.access_point_id,
                "access_point_arn": res.access_point_arn,
                "posix_uid": res.posix_uid,
                "posix_gid": res.posix_gid,
                "role_arn": res.role_arn,
                "archive": res.archive_location,
            }
            if res
            else {}
        )
    return data


class PlatformStaffApi(APIView):
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    permission_classes = [permissions.IsAdminUser]


class TenantListCreateApi(PlatformStaffApi):
    def get(self, request):
        tenants = tenants_with_provisioning().order_by("schema_name").prefetch_related("domains")
        return Response({"results": [_tenant_data(t) for t in tenants]})

    def post(self, request):
        serializer = TenantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        values["domain"] = values.get("domain") or None
        tenant = tenant_create(**values)  # ValidationError -> 400 with the field named (flowui.api)
        return Response(_tenant_data(tenant, detail=True), status=status.HTTP_201_CREATED)


class TenantDetailApi(PlatformStaffApi):
    def get(self, request, schema_name: str):
        tenant = get_object_or_404(tenants_with_provisioning(), schema_name=schema_name)
        return Response(_tenant_data(tenant, detail=True))


class TenantRetryApi(PlatformStaffApi):
    def post(self, request, schema_name: str):
        tenant = get_object_or_404(tenants_with_provisioning(), schema_name=schema_name)
        step = tenant_provisioning_retry(tenant=tenant)
        return Response(
            {"resumed_at": step.name if step else None, "tenant": _tenant_data(tenant, detail=True)},
            status=status.HTTP_202_ACCEPTED if step else status.HTTP_200_OK,
        )


urlpatterns = [
    path("", TenantListCreateApi.as_view(), name="platform-tenants"),
    path("<str:schema_name>/", TenantDetailApi.as_view(), name="platform-tenant"),
    path("<str:schema_name>/retry/", TenantRetryApi.as_view(), name="platform-tenant-retry"),
]
