"""API representations of the registry (read) and the inputs it accepts (repository creation)."""

from __future__ import annotations

from rest_framework import serializers

from registry.models import OperatorVersion, Repository, SyncRun


class RepositorySerializer(serializers.ModelSerializer):
    scope = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Repository
        fields = [
            "slug",
            "name",
            "url",
            "source",
            "ref",
            "scope",
            "sync_interval_minutes",
            "last_sync_state",
            "last_synced_at",
            "last_synced_commit",
            "last_sync_error",
            "available_tags",
        ]

    def get_scope(self, obj: Repository) -> str:
        return "platform" if obj.tenant_id is None else "tenant"

    def get_url(self, obj: Repository) -> str:
        """Platform-wide repositories on the platform's own disk or network are not shown to tenants."""
        if obj.tenant_id is None and not obj.url.startswith("https://"):
            return ""
        return obj.url


class RepositoryCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    source = serializers.ChoiceField(choices=Repository.Source.choices, default=Repository.Source.GIT)
    ref = serializers.CharField(max_length=200, default="main")
    access_token = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)
    sync_interval_minutes = serializers.IntegerField(min_value=0, max_value=10080, default=60)


class RepositoryPinSerializer(serializers.Serializer):
    ref = serializers.CharField(max_length=200, help_text="Tag, branch or commit.")


class SyncRunSerializer(serializers.ModelSerializer):
    repository = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    operator_errors = serializers.DictField(child=serializers.CharField(), read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "repository",
            "state",
            "trigger",
            "commit",
            "progress_done",
            "progress_total",
            "counts",
            "operator_errors",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_counts(self, obj: SyncRun) -> dict[str, int]:
        return (obj.report or {}).get("counts", {})


class OperatorVersionSummarySerializer(serializers.ModelSerializer):
    repository = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    label = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    dependency_group = serializers.CharField(source="dependency_group_name", read_only=True)

    class Meta:
        model = OperatorVersion
        fields = [
            "id",
            "repository",
            "name",
            "version",
            "commit",
            "label",
            "description",
            "tags",
            "dependency_group",
            "image",
            "created_at",
        ]


class OperatorVersionSerializer(OperatorVersionSummarySerializer):
    class Meta(OperatorVersionSummarySerializer.Meta):
        fields = OperatorVersionSummarySerializer.Meta.fields + [
            "input_schema",
            "output_schema",
            "secrets_schema",
            "metadata",
        ]


class OperatorDetailSerializer(serializers.Serializer):
    latest = OperatorVersionSerializer()
    versions = OperatorVersionSummarySerializer(many=True)
    sync_error = serializers.CharField(allow_null=True)
