from django.urls import path

from workflows import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workflows/new/", views.workflow_new, name="workflow_new"),
]
