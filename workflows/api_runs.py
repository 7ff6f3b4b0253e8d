"""REST API of a workflow's runs (tenant domains, /api/workflows/<slug>/runs/...): list, detail, tasks, task
logs, clear, cancel, results and result files. Thin views on `workflows.supervision`, `logs` and `results`;
errors in the platform's format (see `workflows.api`)."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from workflows import logs, results, supervision
from workflows import serializers as s
from workflows.api import AIRFLOW_ERRORS, ERRORS, RUN_ID, SLUG, TASK_ID, WorkflowApiView


# --- runs -------------------------------------------------------------------------------------
class RunListView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_list",
        parameters=[SLUG, s.RunsQuerySerializer],
        responses={200: s.RunPageSerializer, **AIRFLOW_ERRORS},
    )
    def get(self, request, slug):
        workflow = self.get_workflow(slug)
        query = self.parse(s.RunsQuerySerializer, request.query_params)
        page = supervision.runs_list(
            tenant=self.tenant,
            workflow=workflow,
            limit=query["limit"],
            offset=query["offset"],
            state=query.get("state"),
        )
        return Response({**page, "limit": query["limit"], "offset": query["offset"]})

    @extend_schema(
        operation_id="runs_trigger",
        parameters=[SLUG],
        request=s.TriggerSerializer,
        responses={201: s.RunSerializer, 409: s.ErrorSerializer, **AIRFLOW_ERRORS},
    )
    def post(self, request, slug):
        workflow = self.get_workflow(slug)
        data = self.parse(s.TriggerSerializer, request.data)
        run = supervision.run_trigger(
            tenant=self.tenant,
            workflow=workflow,
            user=request.user,
            params=data.get("params"),
            note=data.get("note", ""),
        )
        return Response(run, status=201)


class RunDetailView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_retrieve",
        parameters=[SLUG, RUN_ID],
        responses={200: s.RunDetailSerializer, **AIRFLOW_ERRORS},
    )
    def get(self, request, slug, run_id):
        workflow = self.get_workflow(slug)
        return Response(supervision.run_detail(tenant=self.tenant, workflow=workflow, run_id=run_id))


class RunTasksView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_tasks_list",
        parameters=[SLUG, RUN_ID],
        responses={200: s.TaskInstanceSerializer(many=True), **AIRFLOW_ERRORS},
    )
    def get(self, request, slug, run_id):
        workflow = self.get_workflow(slug)
        return Response(supervision.task_instances_list(tenant=self.tenant, workflow=workflow, run_id=run_id))


class TaskLogView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_task_log",
        parameters=[SLUG, RUN_ID, TASK_ID, s.LogQuerySerializer],
        responses={200: s.LogPageSerializer, **AIRFLOW_ERRORS},
    )
    def get(self, request, slug, run_id, task_id):
        workflow = self.get_workflow(slug)
        query = self.parse(s.LogQuerySerializer, request.query_params)
        page = logs.task_log(
            tenant=self.tenant,
            workflow=workflow,
            run_id=run_id,
            task_id=task_id,
            try_number=query.get("try_number"),
            offset=query["offset"],
            limit=query["limit"],
        )
        return Response(page)


class RunClearView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_clear",
        parameters=[SLUG, RUN_ID],
        request=s.ClearSerializer,
        responses={200: s.ClearResponseSerializer, **AIRFLOW_ERRORS},
    )
    def post(self, request, slug, run_id):
        """Retry: clear the given tasks (with their downstream tasks by default), or the whole run."""
        workflow = self.get_workflow(slug)
        data = self.parse(s.ClearSerializer, request.data)
        task_ids = data.get("task_ids") or []
        if task_ids:
            cleared = supervision.task_clear(
                tenant=self.tenant,
                workflow=workflow,
                run_id=run_id,
                task_ids=task_ids,
                include_downstream=data["include_downstream"],
            )
            run = supervision.run_get(tenant=self.tenant, workflow=workflow, run_id=run_id)
        else:
            run = supervision.run_clear(
                tenant=self.tenant, workflow=workflow, run_id=run_id, only_failed=data["only_failed"]
            )
            cleared = []
        return Response({"run": run, "cleared_task_ids": cleared})


class RunCancelView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_cancel",
        parameters=[SLUG, RUN_ID],
        request=None,
        responses={200: s.RunSerializer, **AIRFLOW_ERRORS},
    )
    def post(self, request, slug, run_id):
        """Mark the run failed (stops its running tasks)."""
        workflow = self.get_workflow(slug)
        return Response(supervision.run_cancel(tenant=self.tenant, workflow=workflow, run_id=run_id))


# --- results ----------------------------------------------------------------------------------
class RunResultsView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_results_list",
        parameters=[SLUG, RUN_ID, OpenApiParameter("task_id", OpenApiTypes.STR, description="Only this task.")],
        responses={200: s.ResultFileSerializer(many=True), **ERRORS},
    )
    def get(self, request, slug, run_id):
        workflow = self.get_workflow(slug)
        task_id = request.query_params.get("task_id") or None
        files = results.run_results_list(tenant=self.tenant, workflow=workflow, run_id=run_id, task_id=task_id)
        for item in files:
            item["url"] = reverse(
                "api-run-result-file",
                kwargs={"slug": slug, "run_id": run_id, "task_id": item["task_id"], "path": item["path"]},
            )
        return Response(files)


class RunResultFileView(WorkflowApiView):
    @extend_schema(
        operation_id="runs_results_download",
        parameters=[SLUG, RUN_ID, TASK_ID, OpenApiParameter("path", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
    )
    def get(self, request, slug, run_id, task_id, path):
        """A result file, with a safe content type (HTML and SVG sandboxed by Content-Security-Policy)."""
        workflow = self.get_workflow(slug)
        opened = results.result_file_open(
            tenant=self.tenant, workflow=workflow, run_id=run_id, task_id=task_id, path=path
        )
        response = FileResponse(opened.file)
        for header, value in results.result_headers(opened.name).items():
            response[header] = value
        response["Content-Length"] = str(opened.size)
        return response
