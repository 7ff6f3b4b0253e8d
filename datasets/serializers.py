"""Shapes of the datasets API (request parsing and the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers


class DatasetEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField(help_text="Relative to the tenant's dataset folder; use it in /api/datasets/<path>.")
    type = serializers.ChoiceField(choices=["folder", "file"])
    size = serializers.IntegerField(allow_null=True, help_text="Bytes (files only).")
    modified = serializers.DateTimeField()
    format = serializers.CharField(help_text="csv, json, jsonl, parquet, or empty for other files and folders.")


class DatasetListSerializer(serializers.Serializer):
    path = serializers.CharField(allow_blank=True, help_text="The folder listed (empty: the top folder).")
    parent = serializers.CharField(allow_null=True, allow_blank=True)
    entries = DatasetEntrySerializer(many=True)
    truncated = serializers.BooleanField()


class DatasetListQuerySerializer(serializers.Serializer):
    path = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="A folder inside the dataset folder (default: the top folder).",
    )


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, use_url=False, help_text="The file (size limit: FLOWUI_UPLOAD_MAX_MB)."
    )
    path = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        default="",
        help_text="Folder to store it in (created when missing; default: the top folder).",
    )
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        default="",
        help_text="File name (default: the uploaded file's name).",
    )
    overwrite = serializers.BooleanField(
        required=False, default=False, help_text="Replace a file of the same name (else 409)."
    )


class DatasetDetailQuerySerializer(serializers.Serializer):
    preview = serializers.BooleanField(
        required=False, default=False, help_text="Answer a JSON preview of the first rows instead of the file."
    )
    rows = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=50, help_text="Rows in a preview."
    )


class DatasetDeleteQuerySerializer(serializers.Serializer):
    recursive = serializers.BooleanField(
        required=False, default=False, help_text="Confirm deleting a folder with everything in it."
    )


class DatasetPreviewSerializer(serializers.Serializer):
    path = serializers.CharField()
    name = serializers.CharField()
    format = serializers.CharField()
    size = serializers.IntegerField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField(allow_null=True)))
    truncated = serializers.BooleanField(help_text="There are more rows than shown.")
    total_rows = serializers.IntegerField(
        allow_null=True, help_text="Rows in the file, when known without reading it all."
    )
