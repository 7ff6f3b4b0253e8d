"""REST API of workflows (tenant domains, /api/...): thin views that parse, call services/selectors, render.

Errors use the platform's format `{"error": code, "detail": text, "fields": {...}}`:
404 not_found, 409 conflict (stale base version) / not_deployed, 400 invalid (with per-node `fields` for
specs), 503 airflow_unavailable. DAG ids are never taken from a request: they derive from the workflow.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from flowui.inputs import without_nul
from flowui.lib.airflow import AirflowUnavailable
from flowui.pagination import PageNumberPagination
from tenants.permissions import TenantRolePermission
from workflows import results, selectors, services, supervision
from workflows import serializers as s
from workflows.spec import has_errors


class TenantTokenScheme(OpenApiAuthenticationExtension):
    """Describes tenants.authentication.TenantTokenAuthentication in the OpenAPI schema (registered on import;
    the API URLs import this module)."""

    target_class = "tenants.authentication.TenantTokenAuthentication"
    name = "tenantToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A per-user, per-tenant API token (flw_...) used on the tenant's domain.",
        }


ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid request (fields name the problems)."),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found in this tenant."),
}
AIRFLOW_ERRORS = {
    **ERRORS,
    503: OpenApiResponse(s.ErrorSerializer, description="Airflow unavailable."),
}
SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$")
RUN_ID = OpenApiParameter("run_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9_.:+\-]{1,250}$")
TASK_ID = OpenApiParameter("task_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9_.\-]{1,250}$")


def _error(code: str, detail: str, http_status: int, fields: dict | None = None, **extra) -> Response:
    data = {"error": code, "detail": detail, **extra}
    if fields is not None:
        data["fields"] = fields
    return Response(data, status=http_status)


class WorkflowApiView(APIView):
    """Base: tenant members only (viewer reads, editor writes); domain errors become clean responses."""

    permission_classes = [TenantRolePermission]

    @property
    def tenant(self):
        return self.request.tenant

    def get_workflow(self, slug: str):
        return selectors.workflow_get(slug=slug)

    def serializer_context(self) -> dict:
        return {"tenant": self.tenant, "request": self.request}

    def parse(self, serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def handle_exception(self, exc):
        if isinstance(exc, (selectors.WorkflowNotFound, supervision.RunNotFound, results.ResultNotFound)):
            return _error("not_found", str(exc), status.HTTP_404_NOT_FOUND)
        if isinstance(exc, services.WorkflowConflict):
            return _error("conflict", str(exc), status.HTTP_409_CONFLICT, current_version=exc.current_version)
        if isinstance(exc, services.WorkflowInvalid):
            return _error("invalid", str(exc), status.HTTP_400_BAD_REQUEST, fields=exc.errors)
        if isinstance(exc, supervision.ParamsInvalid):
            return _error("invalid", str(exc), status.HTTP_400_BAD_REQUEST, fields={"params": exc.errors})
        if isinstance(exc, (supervision.WorkflowNotDeployed, services.WorkflowNotDeployable)):
            return _error("not_deployed", str(exc), status.HTTP_409_CONFLICT)
        if isinstance(exc, services.WorkflowDeployFailed):
            return _error("deploy_failed", str(exc), status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


# --- workflows --------------------------------------------------------------------------------
class WorkflowListView(WorkflowApiView):
    @extend_schema(
        operation_id="workflows_list",
        parameters=[
            OpenApiParameter("search", OpenApiTypes.STR, description="Text in the name or slug."),
            OpenApiParameter("deploy_state", OpenApiTypes.STR, enum=[c for c, _ in s.DeployState.choices]),
            OpenApiParameter("page", OpenApiTypes.INT),
        ],
        responses={200: s.WorkflowSerializer(many=True)},
    )
    def get(self, request):
        search = without_nul(request.query_params.get("search"), max_chars=200)
        state = request.query_params.get("deploy_state") or ""
        if state and state not in s.DeployState.values:
            return _error(
                "invalid",
                "Unknown deploy_state.",
                400,
                fields={"deploy_state": [f"must be one of {', '.join(s.DeployState.values)}"]},
            )
        if search or state:
            rows = selectors.workflows_list(search=search, deploy_state=state)
        else:
            rows = selectors.workflows_all_pages.object_list()
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, self)
        return paginator.get_paginated_response(
            s.WorkflowSerializer(page, many=True, context=self.serializer_context()).data
        )

    @extend_schema(
        operation_id="workflows_create",
        request=s.WorkflowCreateSerializer,
        responses={201: s.WorkflowDetailSerializer, **ERRORS},
    )
    def post(self, request):
        data = self.parse(s.WorkflowCreateSerializer, request.data)
        workflow = services.workflow_create(
            name=data["name"],
            slug=data.get("slug") or "",
            description=data.get("description", ""),
            spec=data.get("spec"),
            user=request.user,
        )
        return Response(s.WorkflowDetailSerializer(workflow, context=self.serializer_context()).data, status=201)


class WorkflowDetailView(WorkflowApiView):
    @extend_schema(
        operation_id="workflows_retrieve", parameters=[SLUG], responses={200: s.WorkflowDetailSerializer, **ERRORS}
    )
    def get(self, request, slug):
        workflow = self.get_workflow(slug)
        return Response(s.WorkflowDetailSerializer(workflow, context=self.serializer_context()).data)

    @extend_schema(
        operation_id="workflows_update",
        parameters=[SLUG],
        request=s.WorkflowUpdateSerializer,
        responses={200: s.WorkflowDetailSerializer, **ERRORS},
    )
    def patch(self, request, slug):
        workflow = self.get_workflow(slug)
        data = self.parse(s.WorkflowUpdateSerializer, request.data)
        services.workflow_update(workflow=workflow, name=data.get("name"), description=data.get("description"))
        return Response(s.WorkflowDetailSerializer(workflow, context=self.serializer_context()).data)

    @extend_schema(operation_id="workflows_destroy", parameters=[SLUG], responses={204: None, **ERRORS})
    def delete(self, request, slug):
        workflow = self.get_workflow(slug)
        services.workflow_delete(tenant=self.tenant, workflow=workflow)
        return Response(status=204)


# --- versions ---------------------------------------------------------------------------------
class VersionListView(WorkflowApiView):
    @extend_schema(
        operation_id="workflow_versions_list",
        parameters=[SLUG, OpenApiParameter("page", OpenApiTypes.INT)],
        responses={200: s.VersionSerializer(many=True), **ERRORS},
    )
    def get(self, request, slug):
        workflow = self.get_workflow(slug)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.versions_list(workflow=workflow), request, self)
        return paginator.get_paginated_response(s.VersionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="workflow_versions_create",
        parameters=[SLUG],
        request=s.VersionSaveSerializer,
        responses={
            201: s.VersionDetailSerializer,
            409: OpenApiResponse(s.ErrorSerializer, description="The base version is stale; nothing was saved."),
            **ERRORS,
        },
    )
    def post(self, request, slug):
        workflow = self.get_workflow(slug)
        data = self.parse(s.VersionSaveSerializer, request.data)
        version = services.workflow_save_version(
            workflow=workflow,
            spec=data["spec"],
            base_version=data["base_version"],
            user=request.user,
            message=data.get("message", ""),
        )
        return Response(s.VersionDetailSerializer(version).data, status=201)


class VersionDetailView(WorkflowApiView):
    @extend_schema(
        operation_id="workflow_versions_retrieve",
        parameters=[SLUG],
        responses={200: s.VersionDetailSerializer, **ERRORS},
    )
    def get(self, request, slug, number):
        version = selectors.version_get(workflow=self.get_workflow(slug), number=number)
        return Response(s.VersionDetailSerializer(version).data)


class VersionRestoreView(WorkflowApiView):
    @extend_schema(
        operation_id="workflow_versions_restore",
        parameters=[SLUG],
        request=s.RestoreSerializer,
        responses={201: s.VersionDetailSerializer, 409: s.ErrorSerializer, **ERRORS},
    )
    def post(self, request, slug, number):
        workflow = self.get_workflow(slug)
        data = self.parse(s.RestoreSerializer, request.data)
        version = services.workflow_restore_version(
            workflow=workflow,
            number=number,
            user=request.user,
            base_version=data.get("base_version"),
        )
        return Response(s.VersionDetailSerializer(version).data, status=201)


class VersionDiffView(WorkflowApiView):
    @extend_schema(
        operation_id="workflow_versions_diff",
        parameters=[SLUG, s.DiffQuerySerializer],
        responses={200: s.DiffSerializer, **ERRORS},
    )
    def get(self, request, slug):
        workflow = self.get_workflow(slug)
        query = self.parse(s.DiffQuerySerializer, request.query_params)
        old = selectors.version_get(workflow=workflow, number=query["from_version"])
        new = selectors.version_get(workflow=workflow, number=query["to_version"])
        diff = selectors.versions_diff(old=old.spec, new=new.spec)
        return Response({"from_version": old.number, "to_version": new.number, **diff})


# --- validate / deploy / pause ----------------------------------------------------------------
class ValidateView(WorkflowApiView):
    required_role = "viewer"  # validating changes nothing

    @extend_schema(
        operation_id="workflows_validate",
        parameters=[SLUG],
        request=s.ValidateRequestSerializer,
        responses={200: s.ValidateResponseSerializer, **ERRORS},
    )
    def post(self, request, slug):
        workflow = self.get_workflow(slug)
        data = self.parse(s.ValidateRequestSerializer, request.data)
        spec = (
            data["spec"] if "spec" in data else (workflow.current_version.spec if workflow.current_version_id else {})
        )
        errors = services.workflow_validate(tenant=self.tenant, spec=spec)
        return Response({"valid": not has_errors(errors), "errors": errors})


class DeployView(WorkflowApiView):
    @extend_schema(
        operation_id="workflows_deploy_status", parameters=[SLUG], responses={200: s.DeployStatusSerializer, **ERRORS}
    )
    def get(self, request, slug):
        """The deploy status; while pending it asks Airflow once, so polling this moves it along."""
        workflow = self.get_workflow(slug)
        try:
            services.workflow_deploy_check(tenant=self.tenant, workflow=workflow)
        except AirflowUnavailable:
            pass  # recorded as waiting_for_airflow
        workflow.refresh_from_db()
        return Response(s.DeployStatusSerializer(s.DeployStatusSerializer.from_workflow(workflow)).data)

    @extend_schema(
        operation_id="workflows_deploy",
        parameters=[SLUG],
        request=s.DeployRequestSerializer,
        responses={202: s.DeployStatusSerializer, 409: s.ErrorSerializer, **ERRORS},
    )
    def post(self, request, slug):
        workflow = self.get_workflow(slug)
        data = self.parse(s.DeployRequestSerializer, request.data)
        workflow = services.workflow_deploy(
            tenant=self.tenant, workflow=workflow, user=request.user, version_number=data.get("version")
        )
        return Response(s.DeployStatusSerializer(s.DeployStatusSerializer.from_workflow(workflow)).data, status=202)


class PauseView(WorkflowApiView):
    @extend_schema(
        operation_id="workflows_pause",
        parameters=[SLUG],
        request=s.PauseSerializer,
        responses={200: s.WorkflowSerializer, **AIRFLOW_ERRORS},
    )
    def post(self, request, slug):
        workflow = self.get_workflow(slug)
        data = self.parse(s.PauseSerializer, request.data)
        services.workflow_pause_set(tenant=self.tenant, workflow=workflow, paused=data["paused"])
        return Response(s.WorkflowSerializer(workflow, context=self.serializer_context()).data)
