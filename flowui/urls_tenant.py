"""The tenant portal's URLconf (ROOT_URLCONF of a tenant's domain): every page and the REST API of that tenant,
mounted here app by app so no app includes another's URLs."""

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
    path("settings/repositories/", include("registry.urls_settings")),  # before the tenant settings
    path("settings/", include("tenants.urls")),
    path("", include("workflows.urls")),
]
