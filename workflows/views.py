"""Portal pages of a tenant."""

from django.shortcuts import render

from tenants.permissions import require_role


def dashboard(request):
    return render(request, "workflows/dashboard.html", {})


@require_role("editor")
def workflow_new(request):
    return render(request, "workflows/new.html", {})
