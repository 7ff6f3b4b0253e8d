"""REST API of the registry (on a tenant's domain): operators and versions (read), repositories, syncs."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from flowui.inputs import without_nul
from registry import selectors, services
from registry.serializers import (
    OperatorDetailSerializer,
    OperatorVersionSerializer,
    OperatorVersionSummarySerializer,
    RepositoryCreateSerializer,
    RepositoryPinSerializer,
    RepositorySerializer,
    SyncRunSerializer,
)
from tenants.models import Role
from tenants.permissions import TenantRolePermission


class _RegistryView(GenericAPIView):
    permission_classes = [TenantRolePermission]


def _param(request, name: str) -> str:
    """A query parameter without NUL characters (PostgreSQL rejects them in text)."""
    return without_nul(request.query_params.get(name))


def _require_admin(request) -> None:
    if not request.membership.has_role(Role.ADMIN):
        raise PermissionDenied("This needs the admin role of this tenant.")


def _private_repository_for_admin(request, slug: str, staff_action: str):
    """The tenant's own repository `slug`, for a tenant admin; platform-wide ones are `staff_action`."""
    repository = selectors.repository_for_tenant(tenant=request.tenant, slug=slug)
    if repository is None:
        raise NotFound(f"No repository {slug!r}.")
    if repository.tenant_id is None:
        raise PermissionDenied(f"Platform-wide repositories are {staff_action}.")
    _require_admin(request)
    return repository


class OperatorListView(_RegistryView):
    serializer_class = OperatorVersionSummarySerializer

    @extend_schema(
        summary="Operators this tenant can use (newest version of each)",
        parameters=[
            OpenApiParameter("q", str, description="Search in name, label, description and tags."),
            OpenApiParameter("tag", str, description="Only operators with this tag."),
            OpenApiParameter("repository", str, description="Only this repository (slug)."),
        ],
    )
    def get(self, request):
        rows = selectors.operator_latest_versions(
            tenant=request.tenant,
            query=_param(request, "q"),
            tag=_param(request, "tag"),
            repository_slug=_param(request, "repository"),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class OperatorDetailView(_RegistryView):
    serializer_class = OperatorDetailSerializer

    @extend_schema(
        operation_id="operator_detail",
        summary="One operator: its newest version with schemas, all versions, its latest sync error",
    )
    def get(self, request, repository: str, name: str):
        versions = selectors.operator_versions_of(tenant=request.tenant, repository_slug=repository, name=name)
        if not versions:
            raise NotFound(f"No operator {repository}/{name}.")
        repo = versions[0].repository
        data = {
            "latest": versions[0],
            "versions": versions,
            "sync_error": selectors.operator_sync_error(repository=repo, name=name),
        }
        return Response(self.get_serializer(data).data)


class OperatorVersionDetailView(_RegistryView):
    serializer_class = OperatorVersionSerializer

    @extend_schema(summary="One stored operator version with its schemas and metadata")
    def get(self, request, pk: int):
        version = selectors.operator_versions_for_tenant(tenant=request.tenant).filter(pk=pk).first()
        if version is None:
            raise NotFound(f"No operator version {pk}.")
        return Response(self.get_serializer(version).data)


class RepositoryListView(_RegistryView):
    serializer_class = RepositorySerializer

    @extend_schema(summary="Repositories this tenant can use (platform-wide and its own)")
    def get(self, request):
        rows = selectors.repositories_for_tenant(tenant=request.tenant)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add a repository private to this tenant (tenant admin); its first sync is queued",
        request=RepositoryCreateSerializer,
        responses={201: RepositorySerializer},
    )
    def post(self, request):
        _require_admin(request)
        serializer = RepositoryCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        repository = services.repository_create(tenant=request.tenant, **serializer.validated_data)
        services.repository_sync_request(repository=repository, user=request.user, trigger="api")
        return Response(RepositorySerializer(repository).data, status=status.HTTP_201_CREATED)


class RepositorySyncView(_RegistryView):
    serializer_class = SyncRunSerializer

    @extend_schema(
        summary="Queue a sync of a repository (tenant admin; platform-wide ones are synced by platform staff)",
        request=None,
        responses={202: SyncRunSerializer},
    )
    def post(self, request, slug: str):
        repository = _private_repository_for_admin(request, slug, "synced by platform staff (admin or schedule)")
        sync_run = services.repository_sync_request(repository=repository, user=request.user, trigger="api")
        return Response(self.get_serializer(sync_run).data, status=status.HTTP_202_ACCEPTED)


class RepositoryPinView(_RegistryView):
    serializer_class = RepositorySerializer

    @extend_schema(
        summary="Pin a private repository to a tag, branch or commit (tenant admin); a sync is queued",
        request=RepositoryPinSerializer,
        responses={200: RepositorySerializer},
    )
    def post(self, request, slug: str):
        repository = _private_repository_for_admin(request, slug, "pinned by platform staff")
        serializer = RepositoryPinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        repository = services.repository_pin(repository=repository, ref=serializer.validated_data["ref"])
        services.repository_sync_request(repository=repository, user=request.user, trigger="api")
        return Response(self.get_serializer(repository).data)


class SyncRunListView(_RegistryView):
    serializer_class = SyncRunSerializer

    @extend_schema(
        summary="Recent syncs of the repositories this tenant can use",
        parameters=[OpenApiParameter("repository", str, description="Only this repository (slug).")],
    )
    def get(self, request):
        rows = selectors.sync_runs_for_tenant(tenant=request.tenant)
        if _param(request, "repository"):
            rows = rows.filter(repository__slug=_param(request, "repository"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class SyncRunDetailView(_RegistryView):
    serializer_class = SyncRunSerializer

    @extend_schema(
        operation_id="sync_run_detail", summary="Status of one sync: state, progress n of N, per-operator errors"
    )
    def get(self, request, pk: int):
        sync_run = selectors.sync_runs_for_tenant(tenant=request.tenant).filter(pk=pk).first()
        if sync_run is None:
            raise NotFound(f"No sync {pk}.")
        return Response(self.get_serializer(sync_run).data)
