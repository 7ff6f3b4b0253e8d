"""URLs of the public domain: landing, login, Django admin for platform staff, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from flowui import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url="/login/?password_set=1"),
        name="password_reset_confirm",
    ),
    path("admin/", admin.site.urls),
    path("api/tenants/", include("tenants.platform_api")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
]
