"""The `kubernetes` provisioning step: the tenant's PVC and Secret that kubernetes-mode pods need.

No cluster here: the step talks to a stand-in for CoreV1Api that keeps objects by namespace and name, answers 404
like the API for a missing one, and stores what it is given as the API's JSON (ApiClient serialisation), so the
test checks the real model objects the platform would send."""

from __future__ import annotations

import base64

import pytest
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from flowui.lib import kubernetes as kube
from flowui_runtime import contracts
from flowui_runtime.kubernetes import build_pod
from tenants import provisioning
from tenants.models import TenantResources
from tenants.services import tenant_create
from tenants.services_secrets import secret_set


class FakeCoreV1Api:
    def __init__(self, fail_with: int | None = None):
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.calls: list[str] = []
        self.fail_with = fail_with

    def _get(self, kind, name, namespace):
        self.calls.append(f"read {kind}")
        if self.fail_with:
            raise ApiException(status=self.fail_with, reason="Forbidden")
        if (kind, namespace, name) not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return self.objects[(kind, namespace, name)]

    def _put(self, kind, namespace, body, verb):
        self.calls.append(f"{verb} {kind}")
        data = ApiClient().sanitize_for_serialization(body)
        assert data["metadata"]["namespace"] == namespace
        self.objects[(kind, namespace, data["metadata"]["name"])] = data

    def read_namespaced_persistent_volume_claim(self, name, namespace):
        return self._get("pvc", name, namespace)

    def create_namespaced_persistent_volume_claim(self, namespace, body):
        self._put("pvc", namespace, body, "create")

    def read_namespaced_secret(self, name, namespace):
        return self._get("secret", name, namespace)

    def create_namespaced_secret(self, namespace, body):
        self._put("secret", namespace, body, "create")

    def replace_namespaced_secret(self, name, namespace, body):
        self._put("secret", namespace, body, "replace")


@pytest.fixture
def fake_cluster(monkeypatch):
    api = FakeCoreV1Api()
    monkeypatch.setattr(kube, "core_api", lambda: api)
    return api


def test_it_runs_the_kubernetes_step_only_in_kubernetes_mode(db, settings):
    settings.FLOWUI_K8S_ENABLED = False
    assert "kubernetes" not in provisioning.steps_for_mode("local")
    assert "kubernetes" not in provisioning.steps_for_mode("aws")
    settings.FLOWUI_K8S_ENABLED = True
    for mode in ("local", "aws"):
        steps = provisioning.steps_for_mode(mode)
        assert steps[-2:] == ("kubernetes", "airflow")  # before Airflow may start the tenant's pods


def test_it_creates_the_tenants_pvc_and_secret_idempotently(
    db, settings, fake_cluster, django_capture_on_commit_callbacks
):
    settings.FLOWUI_K8S_ENABLED = True
    settings.FLOWUI_K8S_PVC_SIZE = "25Gi"
    settings.FLOWUI_K8S_STORAGE_CLASS = "efs-sc"
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(schema_name="kube_one", name="Kube one")
    states = {s.name: s.state for s in tenant.provisioning_steps.all()}
    assert states == {"schema": "done", "storage": "done", "kubernetes": "done", "airflow": "done"}, states

    pvc = fake_cluster.objects[("pvc", "flowui", "flowui-kube_one-storage")]
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["resources"]["requests"] == {"storage": "25Gi"}
    assert pvc["spec"]["storageClassName"] == "efs-sc"
    assert pvc["metadata"]["labels"]["flowui/tenant"] == "kube_one"
    # The pods of this tenant mount exactly this claim (one naming rule for both sides).
    spec = contracts.TaskSpec.model_validate(
        {
            "task_id": "t",
            "operator": {"repository": "r", "name": "n", "version": "1", "commit": "c"},
            "execution_mode": "kubernetes",
        }
    )
    pod = ApiClient().sanitize_for_serialization(
        build_pod(spec, storage_root=tenant_storage(tenant), tenant="kube_one", dag_id="kube_one__x", run_id="r1")
    )
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    secret = fake_cluster.objects[("secret", "flowui", "flowui-kube_one-secrets")]
    assert secret["type"] == "Opaque" and secret.get("data") in (None, {})

    # A secret set later reaches the Secret on the next run; the PVC is never re-created nor changed.
    secret_set(tenant=tenant, name="API_TOKEN", value="s3cr3t-kube")
    step = tenant.provisioning_steps.get(name="kubernetes")
    fake_cluster.calls.clear()
    output = provisioning.run_kubernetes(tenant, TenantResources.objects.get(tenant=tenant))
    assert output["pvc_state"] == "exists" and output["secret_state"] == "updated"
    assert "create pvc" not in fake_cluster.calls and "replace secret" in fake_cluster.calls
    secret = fake_cluster.objects[("secret", "flowui", "flowui-kube_one-secrets")]
    assert base64.b64decode(secret["data"]["API_TOKEN"]).decode() == "s3cr3t-kube"
    assert output["secret_keys"] == ["API_TOKEN"]
    assert "s3cr3t-kube" not in str(output) and "s3cr3t-kube" not in str(step.output)  # names only, no values


def test_it_fails_the_step_with_the_clusters_answer(db, settings, monkeypatch):
    settings.FLOWUI_K8S_ENABLED = True
    api = FakeCoreV1Api(fail_with=403)
    monkeypatch.setattr(kube, "core_api", lambda: api)
    tenant = tenant_create(schema_name="kube_two", name="Kube two", provision=False)
    resources, _ = TenantResources.objects.get_or_create(tenant=tenant)
    with pytest.raises(provisioning.StepError) as failed:
        provisioning.run_kubernetes(tenant, resources)
    assert "PersistentVolumeClaim flowui/flowui-kube_two-storage: Kubernetes answered 403 Forbidden" in str(
        failed.value
    )


def test_it_says_when_no_cluster_is_configured(monkeypatch):
    monkeypatch.setenv("FLOWUI_K8S_IN_CLUSTER", "true")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(kube.KubernetesError) as failed:
        kube.core_api()
    assert "no Kubernetes configuration" in str(failed.value)


def tenant_storage(tenant):
    from tenants.selectors import tenant_storage_root

    return tenant_storage_root(tenant=tenant)


def test_it_ships_helm_values_for_the_celery_executor_and_the_shared_dag_folder():
    from pathlib import Path

    import yaml

    values = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker" / "helm" / "values.yaml").read_text())
    assert values["executor"] == "CeleryExecutor" and values["workers"]["replicas"] >= 2
    assert values["images"]["airflow"]["repository"] == "flowui/airflow"  # docker/Dockerfile.airflow: the runtime
    assert values["airflowVersion"] == "3.3.2"
    dags = values["dags"]
    assert (
        dags["persistence"]["existingClaim"] == "flowui-dags" and dags["persistence"]["accessMode"] == "ReadWriteMany"
    )
    assert dags["gitSync"]["enabled"] is False
    assert values["redis"]["enabled"] is False and values["data"]["brokerUrlSecretName"]
    # Credentials only by Secret name: no password, key or connection string in the file.
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        assert values[key].startswith("flowui-airflow-")
    text = (Path(__file__).resolve().parent.parent / "docker" / "helm" / "values.yaml").read_text()
    assert "fernetKey:" not in text and "password:" not in text.lower() and "://" not in text.split("\n# ")[-1]
    core = values["config"]["core"]
    assert core["simple_auth_manager_passwords_file"].startswith("/opt/flowui/users/")
    assert core["load_examples"] == "False"
