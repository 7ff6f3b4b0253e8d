"""Workflow routes of the tenant REST API (mounted under /api/)."""

from django.urls import path

from workflows import api, api_notifications, api_runs, api_webhooks

urlpatterns = [
    path("workflows/", api.WorkflowListView.as_view(), name="api-workflows"),
    path("workflows/<slug:slug>/", api.WorkflowDetailView.as_view(), name="api-workflow"),
    path("workflows/<slug:slug>/versions/", api.VersionListView.as_view(), name="api-workflow-versions"),
    path("workflows/<slug:slug>/versions/diff/", api.VersionDiffView.as_view(), name="api-workflow-versions-diff"),
    path("workflows/<slug:slug>/versions/<int:number>/", api.VersionDetailView.as_view(), name="api-workflow-version"),
    path(
        "workflows/<slug:slug>/versions/<int:number>/restore/",
        api.VersionRestoreView.as_view(),
        name="api-workflow-version-restore",
    ),
    path("workflows/<slug:slug>/validate/", api.ValidateView.as_view(), name="api-workflow-validate"),
    path("workflows/<slug:slug>/deploy/", api.DeployView.as_view(), name="api-workflow-deploy"),
    path("workflows/<slug:slug>/pause/", api.PauseView.as_view(), name="api-workflow-pause"),
    path("workflows/<slug:slug>/runs/", api_runs.RunListView.as_view(), name="api-runs"),
    path("workflows/<slug:slug>/runs/<str:run_id>/", api_runs.RunDetailView.as_view(), name="api-run"),
    path("workflows/<slug:slug>/runs/<str:run_id>/tasks/", api_runs.RunTasksView.as_view(), name="api-run-tasks"),
    path(
        "workflows/<slug:slug>/runs/<str:run_id>/tasks/<str:task_id>/logs/",
        api_runs.TaskLogView.as_view(),
        name="api-run-task-log",
    ),
    path("workflows/<slug:slug>/runs/<str:run_id>/clear/", api_runs.RunClearView.as_view(), name="api-run-clear"),
    path("workflows/<slug:slug>/runs/<str:run_id>/cancel/", api_runs.RunCancelView.as_view(), name="api-run-cancel"),
    path("workflows/<slug:slug>/runs/<str:run_id>/results/", api_runs.RunResultsView.as_view(), name="api-run-results"),
    path(
        "workflows/<slug:slug>/runs/<str:run_id>/results/<str:task_id>/<path:path>",
        api_runs.RunResultFileView.as_view(),
        name="api-run-result-file",
    ),
    path(
        "workflows/<slug:slug>/notifications/",
        api_notifications.NotificationSettingsView.as_view(),
        name="api-workflow-notifications",
    ),
    path("workflows/<slug:slug>/webhooks/", api_webhooks.WebhookListView.as_view(), name="api-webhooks"),
    path(
        "workflows/<slug:slug>/webhooks/<uuid:webhook_id>/",
        api_webhooks.WebhookDetailView.as_view(),
        name="api-webhook",
    ),
    path("hooks/<uuid:webhook_id>/", api_webhooks.WebhookCallView.as_view(), name="api-webhook-call"),
]
