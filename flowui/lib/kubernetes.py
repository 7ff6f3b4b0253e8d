"""The one place that talks to a Kubernetes API (the `kubernetes` client package): the per-tenant objects that
kubernetes-mode tasks need, applied idempotently. Errors become `KubernetesError` naming the object.

Configuration: FLOWUI_K8S_IN_CLUSTER ("true" by default: the platform runs in the cluster, with a service account
allowed to get/create/update PersistentVolumeClaims and Secrets in FLOWUI_K8S_NAMESPACE); "false" reads the
kube config (KUBECONFIG).
"""

from __future__ import annotations

import os
from typing import Any


class KubernetesError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def core_api() -> Any:
    try:
        from kubernetes import client, config
    except ImportError:
        raise KubernetesError("the `kubernetes` client package is not installed (requirements.txt)") from None

    try:
        if os.environ.get("FLOWUI_K8S_IN_CLUSTER", "true").strip().lower() in ("1", "true", "yes", "on"):
            config.load_incluster_config()
        else:
            config.load_kube_config()
    except (config.ConfigException, OSError) as exc:
        raise KubernetesError(f"no Kubernetes configuration: {exc}") from None
    return client.CoreV1Api()


def _call(what: str, fn):
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return fn()
    except ApiException as exc:
        raise KubernetesError(f"{what}: Kubernetes answered {exc.status} {exc.reason}", status=exc.status) from None
    except (HTTPError, OSError) as exc:
        raise KubernetesError(f"{what}: the Kubernetes API is unreachable ({exc.__class__.__name__})") from None


def _exists(what: str, read) -> bool:
    try:
        _call(what, read)
    except KubernetesError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def pvc_ensure(*, pvc: Any, api: Any = None) -> str:
    """Create the claim unless it exists ("created" / "exists"). An existing claim is never changed (a bound
    claim's spec is immutable) nor deleted."""
    api = api or core_api()
    name, namespace = pvc.metadata.name, pvc.metadata.namespace
    what = f"PersistentVolumeClaim {namespace}/{name}"
    if _exists(what, lambda: api.read_namespaced_persistent_volume_claim(name, namespace)):
        return "exists"
    _call(what, lambda: api.create_namespaced_persistent_volume_claim(namespace, pvc))
    return "created"


def secret_apply(*, secret: Any, api: Any = None) -> str:
    """Create the Secret, or replace its data with the current values ("created" / "updated")."""
    api = api or core_api()
    name, namespace = secret.metadata.name, secret.metadata.namespace
    what = f"Secret {namespace}/{name}"
    if _exists(what, lambda: api.read_namespaced_secret(name, namespace)):
        _call(what, lambda: api.replace_namespaced_secret(name, namespace, secret))
        return "updated"
    _call(what, lambda: api.create_namespaced_secret(namespace, secret))
    return "created"
