"""REST API serializers for workflows: request parsing and response shapes (also the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cached_property

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flowui_runtime.contracts import CONDITION_OPS
from workflows.models import DeployState, Workflow, WorkflowVersion
from workflows.selectors import workflow_dag_id

MAX_INT = 2**31 - 1


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "A workflow spec: nodes, edges, schedule, start_date, tags, params (see the README).",
        "properties": {
            "edges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["source", "target"],
                    "properties": {
                        "source": {"type": "string"},
                        "target": {"type": "string"},
                        "when": {
                            "type": "object",
                            "description": "Optional branch condition on the source's output: the target runs "
                            "only if one of its conditional edges holds, else it is skipped.",
                            "required": ["field", "op"],
                            "properties": {
                                "field": {"type": "string", "description": "A field of the source's output."},
                                "op": {"type": "string", "enum": list(CONDITION_OPS)},
                                "value": {"description": "A list for 'in'; none for 'truthy'."},
                            },
                        },
                    },
                },
            }
        },
        "example": {
            "nodes": [
                {
                    "id": "load",
                    "label": "Load sales",
                    "operator": {"repository": "flowui-bundled", "name": "load_dataset", "version": "1.0.0"},
                    "position": {"x": 0, "y": 0},
                    "inputs": {"source": {"value": "dataset/sales.csv"}},
                    "execution_mode": "local",
                    "retries": 0,
                    "timeout_s": 3600,
                }
            ],
            "edges": [],
            "schedule": None,
            "tags": [],
            "params": [],
        },
    }
)
class SpecField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "nodes": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "description": "node id -> field (node, id, operator, execution_mode, inputs.<name>, edges) -> messages",
            },
            "workflow": {"type": "array", "items": {"type": "string"}},
        },
    }
)
class ValidationErrorsField(serializers.JSONField):
    pass


def version_number(workflow: Workflow, relation: str) -> int | None:
    """The number of the workflow's current_version or deployed_version: annotated by selectors.workflows_list
    (`<relation>_number`; a list page joins no version rows), else read from the related row."""
    if f"{relation}_number" in workflow.__dict__:
        return workflow.__dict__[f"{relation}_number"]
    return getattr(workflow, relation).number if getattr(workflow, f"{relation}_id") else None


class DeployStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=DeployState.choices)
    error = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField(allow_null=True)
    requested_at = serializers.DateTimeField(allow_null=True)
    live_at = serializers.DateTimeField(allow_null=True)

    @staticmethod
    def from_workflow(workflow: Workflow) -> dict:
        return {
            "state": workflow.deploy_state,
            "error": workflow.deploy_error,
            "version": version_number(workflow, "deployed_version"),
            "requested_at": workflow.deploy_requested_at,
            "live_at": workflow.deploy_live_at,
        }


class WorkflowSerializer(serializers.ModelSerializer):
    dag_id = serializers.SerializerMethodField()
    current_version = serializers.SerializerMethodField()
    deploy = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "slug",
            "name",
            "description",
            "dag_id",
            "current_version",
            "deploy",
            "paused",
            "created_at",
            "updated_at",
        ]

    def get_dag_id(self, workflow: Workflow) -> str:
        return workflow_dag_id(tenant=self._tenant, workflow=workflow)

    @cached_property
    def _tenant(self):
        # Read once per serializer: DRF's `context` walks up to the root serializer on every access (per row).
        return self.context["tenant"]

    def get_current_version(self, workflow: Workflow) -> int | None:
        return version_number(workflow, "current_version")

    @extend_schema_field(DeployStatusSerializer)
    def get_deploy(self, workflow: Workflow) -> dict:
        # DeployStatusSerializer's output, without a serializer made per row (which cost more than the rest
        # of the row in a list; bench/api_load.py).
        status = DeployStatusSerializer.from_workflow(workflow)
        for key in ("requested_at", "live_at"):
            status[key] = self._datetime(status[key])
        return status

    @cached_property
    def _timezone(self) -> tzinfo:
        # Read once per serializer (a list's rows share one child): a context-local read per value was half the
        # cost of writing a list page (bench/api_load.py).
        return timezone.get_current_timezone()

    def _datetime(self, value: datetime | None) -> datetime | None:
        # DRF's DateTimeField with format=None: the datetime itself, in the current time zone as DRF's field puts
        # it, and the renderer writes it as DRF's encoder does (flowui.renderers; ISO 8601, Z for UTC).
        # Formatting each value through the field in Python was ~9% of a list page's CPU.
        return value.astimezone(self._timezone) if value is not None else None

    def to_representation(self, workflow: Workflow) -> dict:
        # The row written out directly: DRF's per-field machinery cost more than the query on a list page of 50
        # (bench/api_load.py). The declared fields above still make the OpenAPI schema; test_api_workflows
        # checks that both name the same keys.
        return {
            "slug": workflow.slug,
            "name": workflow.name,
            "description": workflow.description,
            "dag_id": self.get_dag_id(workflow),
            "current_version": self.get_current_version(workflow),
            "deploy": self.get_deploy(workflow),
            "paused": workflow.paused,
            "created_at": self._datetime(workflow.created_at),
            "updated_at": self._datetime(workflow.updated_at),
        }


class WorkflowDetailSerializer(WorkflowSerializer):
    spec = serializers.SerializerMethodField()

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "spec"]

    @extend_schema_field(SpecField)
    def get_spec(self, workflow: Workflow) -> dict:
        return workflow.current_version.spec if workflow.current_version_id else {}

    def to_representation(self, workflow: Workflow) -> dict:
        return {**super().to_representation(workflow), "spec": self.get_spec(workflow)}


class WorkflowCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(
        max_length=60,
        required=False,
        allow_blank=True,
        help_text="Default: derived from the name. Never changes (it names the DAG). "
        "Starts with a letter; no '__' (the DAG id is <tenant>__<slug>).",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    spec = SpecField(required=False)

    def validate_slug(self, value: str) -> str:
        from workflows.services import slug_problem

        if value and (problem := slug_problem(value)):
            raise serializers.ValidationError(problem.removeprefix("slug: "))
        return value


class WorkflowUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name")

    class Meta:
        model = WorkflowVersion
        fields = ["number", "author", "message", "created_at"]


class VersionDetailSerializer(VersionSerializer):
    spec = SpecField()

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "spec"]


class VersionSaveSerializer(serializers.Serializer):
    spec = SpecField()
    base_version = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=MAX_INT,
        help_text="The version number the edit started from; a stale one gets 409 and nothing is saved.",
    )
    message = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RestoreSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_INT)


class DiffQuerySerializer(serializers.Serializer):
    from_version = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    to_version = serializers.IntegerField(min_value=1, max_value=MAX_INT)


class EdgeRefSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()


class NodeInputsChangeSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = serializers.ListField(child=serializers.CharField())


class NodeChangeSerializer(serializers.Serializer):
    id = serializers.CharField()
    inputs = NodeInputsChangeSerializer()
    settings = serializers.ListField(child=serializers.CharField())


class NodesDiffSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = NodeChangeSerializer(many=True)


class EdgesDiffSerializer(serializers.Serializer):
    added = EdgeRefSerializer(many=True)
    removed = EdgeRefSerializer(many=True)
    changed = EdgeRefSerializer(many=True, help_text="Edges whose branch condition (when) changed.")


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    nodes = NodesDiffSerializer()
    edges = EdgesDiffSerializer()
    workflow = serializers.ListField(child=serializers.CharField(), help_text="Changed workflow settings.")


class ValidateRequestSerializer(serializers.Serializer):
    spec = SpecField(required=False, help_text="Default: the current version's spec.")


class ValidateResponseSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = ValidationErrorsField()


class DeployRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_INT, help_text="Default: the current version."
    )


class PauseSerializer(serializers.Serializer):
    paused = serializers.BooleanField()


class TriggerSerializer(serializers.Serializer):
    params = serializers.DictField(
        required=False, child=serializers.JSONField(), help_text="Overrides of the workflow's params, by name (typed)."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class RunSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    state = serializers.CharField()
    run_type = serializers.CharField()
    logical_date = serializers.DateTimeField(allow_null=True)
    run_after = serializers.DateTimeField(allow_null=True)
    queued_at = serializers.DateTimeField(allow_null=True)
    start_date = serializers.DateTimeField(allow_null=True)
    end_date = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    conf = serializers.DictField(child=serializers.JSONField())
    note = serializers.CharField(allow_blank=True)
    dag_versions = serializers.ListField(child=serializers.IntegerField(), help_text="Airflow DAG versions used.")
    workflow_version = serializers.IntegerField(
        allow_null=True, help_text="The workflow version the run used (null: a scheduled run, unknown)."
    )
    triggered_by = serializers.CharField(allow_blank=True)


class TaskInstanceSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    label = serializers.CharField()
    state = serializers.CharField(allow_null=True)
    try_number = serializers.IntegerField()
    max_tries = serializers.IntegerField()
    start_date = serializers.DateTimeField(allow_null=True)
    end_date = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    map_index = serializers.IntegerField()


class RunDetailSerializer(RunSerializer):
    tasks = TaskInstanceSerializer(many=True)


class RunPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = RunSerializer(many=True)


class RunsQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["queued", "running", "success", "failed"], required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=25)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT, default=0)


class LogQuerySerializer(serializers.Serializer):
    try_number = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=5000, default=1000)


class LogPageSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    try_number = serializers.IntegerField()
    state = serializers.CharField(allow_null=True)
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(help_text="Ask again from here to tail a running task.")
    total_lines = serializers.IntegerField()
    lines = serializers.ListField(child=serializers.CharField(allow_blank=True))
    complete = serializers.BooleanField()


class ClearSerializer(serializers.Serializer):
    task_ids = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z0-9_.\-]{1,250}$"),
        required=False,
        max_length=200,
        help_text="Tasks to clear (retry); empty: the whole run.",
    )
    only_failed = serializers.BooleanField(required=False, default=False)
    include_downstream = serializers.BooleanField(required=False, default=True)


class ClearResponseSerializer(serializers.Serializer):
    run = RunSerializer()
    cleared_task_ids = serializers.ListField(child=serializers.CharField())


class ResultFileSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    path = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    modified = serializers.DateTimeField()
    url = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(required=False, child=serializers.JSONField())
