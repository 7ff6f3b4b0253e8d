"""The Data page of the portal (/data/...)."""

from django.urls import path

from datasets import views

urlpatterns = [
    path("", views.data_browser, name="data"),
    path("preview/", views.data_preview, name="data_preview"),
    path("download/", views.data_download, name="data_download"),
    path("upload/", views.data_upload, name="data_upload"),
    path("delete/", views.data_delete, name="data_delete"),
]
