"""REST API of a tenant's datasets (tenant domains, /api/datasets/...): thin views over datasets.selectors and
datasets.services. Viewers list, preview and download; editors upload and delete.

GET /api/datasets/?path=folder      list a folder
POST /api/datasets/                 upload (multipart: file, path folder, optional name and overwrite)
GET /api/datasets/<path>            download a file (?preview=1: the first rows as JSON)
DELETE /api/datasets/<path>         delete a file or an empty folder (?recursive=1: a folder and its content)

Errors use the platform's format: 400 invalid (bad path or name) / preview_unavailable, 404 not_found (missing,
or a symlink), 409 conflict / not_empty, 413 too_large.
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import selectors, services
from datasets import serializers as s
from datasets.uploads import upload_too_large
from tenants.permissions import TenantRolePermission
from workflows.serializers import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid path or name (the detail says why)."),
    404: OpenApiResponse(ErrorSerializer, description="No such file or folder in this tenant's datasets."),
}
PATH = OpenApiParameter(
    "path",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="A file or folder path inside the dataset folder, e.g. samples/sales.csv.",
)


def _error(code: str, detail: str, http_status: int) -> Response:
    return Response({"error": code, "detail": detail}, status=http_status)


class DatasetApiView(APIView):
    permission_classes = [TenantRolePermission]

    def handle_exception(self, exc):
        if isinstance(exc, selectors.DatasetPathInvalid):
            return _error("invalid", str(exc), status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, selectors.DatasetNotFound):
            return _error("not_found", str(exc), status.HTTP_404_NOT_FOUND)
        if isinstance(exc, selectors.DatasetPreviewUnavailable):
            return _error("preview_unavailable", str(exc), status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, services.DatasetTooLarge):
            return _error("too_large", str(exc), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if isinstance(exc, services.DatasetNotEmpty):
            return _error("not_empty", str(exc), status.HTTP_409_CONFLICT)
        if isinstance(exc, services.DatasetConflict):
            return _error("conflict", str(exc), status.HTTP_409_CONFLICT)
        if isinstance(exc, OSError):  # the storage itself failed (full, read-only, I/O error): not the request
            detail = f"The dataset storage failed: {exc.strerror or exc.__class__.__name__}."
            return _error("storage_error", detail, status.HTTP_503_SERVICE_UNAVAILABLE)
        return super().handle_exception(exc)

    def parse(self, serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class DatasetListView(DatasetApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="datasets_list",
        parameters=[s.DatasetListQuerySerializer],
        responses={200: s.DatasetListSerializer, **ERRORS},
    )
    def get(self, request):
        """The files and folders of a dataset folder (symlinks and hidden files are not listed)."""
        query = self.parse(s.DatasetListQuerySerializer, request.query_params)
        return Response(selectors.datasets_list(tenant=request.tenant, path=query.get("path", "")))

    @extend_schema(
        operation_id="datasets_upload",
        request={"multipart/form-data": s.DatasetUploadSerializer},
        responses={
            201: s.DatasetEntrySerializer,
            409: OpenApiResponse(ErrorSerializer, description="A file of that name exists (use overwrite)."),
            413: OpenApiResponse(ErrorSerializer, description="Larger than FLOWUI_UPLOAD_MAX_MB."),
            **ERRORS,
        },
    )
    def post(self, request):
        """Upload a file into a dataset folder (streamed; the size limit is FLOWUI_UPLOAD_MAX_MB)."""
        files = request.FILES  # parses the body through datasets.uploads.CappedUploadHandler
        if upload_too_large(request):
            raise services.DatasetTooLarge(services.upload_max_bytes())
        data = self.parse(s.DatasetUploadSerializer, {**request.data.dict(), "file": files.get("file")})
        upload = data["file"]
        with upload:
            entry = services.dataset_upload(
                tenant=request.tenant,
                folder=data["path"],
                name=data["name"] or upload.name,
                source=upload,
                overwrite=data["overwrite"],
            )
        return Response(entry, status=status.HTTP_201_CREATED)


class DatasetDetailView(DatasetApiView):
    @extend_schema(
        operation_id="datasets_retrieve",
        parameters=[PATH, s.DatasetDetailQuerySerializer],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (200, "application/json"): s.DatasetPreviewSerializer,
            **ERRORS,
        },
    )
    def get(self, request, path):
        """Download a dataset file, or with ?preview=1 its first rows as JSON (CSV, JSON, JSON lines, Parquet)."""
        query = self.parse(s.DatasetDetailQuerySerializer, request.query_params)
        if query["preview"]:
            return Response(selectors.dataset_preview(tenant=request.tenant, path=path, rows=query["rows"]))
        opened = selectors.dataset_open(tenant=request.tenant, path=path)
        response = FileResponse(opened.file)
        for header, value in selectors.download_headers(opened.name).items():
            response[header] = value
        response["Content-Length"] = str(opened.size)
        return response

    @extend_schema(
        operation_id="datasets_destroy",
        parameters=[PATH, s.DatasetDeleteQuerySerializer],
        responses={
            204: None,
            409: OpenApiResponse(ErrorSerializer, description="The folder is not empty (use recursive)."),
            **ERRORS,
        },
    )
    def delete(self, request, path):
        """Delete a file, an empty folder, or with ?recursive=1 a folder and everything in it."""
        query = self.parse(s.DatasetDeleteQuerySerializer, request.query_params)
        services.dataset_delete(tenant=request.tenant, path=path, recursive=query["recursive"])
        return Response(status=status.HTTP_204_NO_CONTENT)
