"""The workflow pages of the tenant portal, mounted at the root by flowui/urls_tenant.py. Pages work with plain
links and forms; the canvas needs JavaScript."""

from django.urls import path

from workflows import (
    views,
    views_conditions,
    views_editor,
    views_editor_node,
    views_lifecycle,
    views_notifications,
    views_runs,
    views_workflow,
)

W = "workflows/<slug:slug>"
R = "workflows/<slug:slug>/runs/<str:run_id>"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workflows/", views.workflow_list, name="workflow_list"),
    path("workflows/new/", views.workflow_new, name="workflow_new"),
    path("schedule-preview/", views_workflow.cron_preview, name="cron_preview"),
    path(f"{W}/", views_editor.editor_redirect, name="workflow_detail"),
    path(f"{W}/edit/", views_editor.editor, name="workflow_editor"),
    path(f"{W}/editor/add-node/", views_editor.node_add, name="editor_add_node"),
    path(f"{W}/editor/node-form/", views_editor_node.node_form, name="editor_node_form"),
    path(f"{W}/editor/node-update/", views_editor_node.node_update, name="editor_node_update"),
    path(f"{W}/editor/connect/", views_editor.connect, name="editor_connect"),
    path(f"{W}/editor/save/", views_editor.save, name="editor_save"),
    path(f"{W}/editor/validate/", views_editor.validate, name="editor_validate"),
    path(f"{W}/editor/edge-form/", views_conditions.edge_form, name="editor_edge_form"),
    path(f"{W}/editor/edge-condition/", views_conditions.edge_condition, name="editor_edge_condition"),
    path(f"{W}/settings/", views_workflow.workflow_settings, name="workflow_settings"),
    path(f"{W}/notifications/", views_notifications.workflow_notifications, name="workflow_notifications"),
    path(f"{W}/versions/", views_workflow.workflow_versions, name="workflow_versions"),
    path(f"{W}/versions/<int:number>/", views_workflow.workflow_version, name="workflow_version"),
    path(f"{W}/versions/<int:number>/restore/", views_workflow.workflow_version_restore, name="workflow_restore"),
    path(f"{W}/deploy/", views_workflow.workflow_deploy, name="workflow_deploy"),
    path(f"{W}/deploy/status/", views_workflow.deploy_badge, name="workflow_deploy_status"),
    path(f"{W}/run/", views_workflow.workflow_run, name="workflow_run"),
    path(f"{W}/pause/", views_lifecycle.workflow_pause, name="workflow_pause"),
    path(f"{W}/duplicate/", views_lifecycle.workflow_copy, name="workflow_duplicate"),
    path(f"{W}/delete/", views_lifecycle.workflow_remove, name="workflow_delete"),
    path("runs/", views_runs.runs_index, name="runs"),
    path(f"{R}/", views_runs.run_detail, name="run_detail"),
    path(f"{R}/tasks/<str:task_id>/log/", views_runs.task_log, name="task_log"),
    path(f"{R}/tasks/<str:task_id>/results/", views_runs.task_results, name="task_results"),
    path(f"{R}/tasks/<str:task_id>/files/", views_runs.task_file, name="task_file"),
    path(f"{R}/<str:action>/", views_runs.run_action, name="run_action"),
]
