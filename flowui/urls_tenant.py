"""URLs of a tenant's domain: the portal and the REST API of that tenant."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from flowui import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url="/login/?password_set=1"),
        name="password_reset_confirm",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/", include("flowui.api_urls")),
    path("operators/", include("registry.urls")),
    path("data/", include("datasets.urls")),
    path("settings/repositories/", include("registry.urls_settings")),  # before the portal's settings/
    path("", include("workflows.urls")),
]
