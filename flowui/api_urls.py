"""The tenant REST API: /api/... on a tenant's domain. Apps add their routes in their api_urls modules."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("registry.api_urls")),
    path("", include("workflows.api_urls")),
    path("", include("tenants.api_urls")),
    path("", include("datasets.api_urls")),
]
