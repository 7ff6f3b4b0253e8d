"""Kubernetes mode: the pod built for an operator, checked against the Kubernetes API models (no cluster)."""

from __future__ import annotations

from pathlib import Path

from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from flowui_runtime import contracts
from flowui_runtime.kubernetes import build_pod, tenant_secret

STORAGE_ROOT = Path("/mnt/flowui/acme")
REF = {"repository": "flowui-bundled", "name": "train_model", "version": "1.2.0", "commit": "abc123"}


def _spec(**extra) -> contracts.TaskSpec:
    return contracts.TaskSpec.model_validate(
        {
            "task_id": "train",
            "operator": REF,
            "execution_mode": "kubernetes",
            "resources": {"cpu": 2.5, "memory_mb": 4096, "gpu": 1},
            "dependency_group": "ml",
            "secrets": ["API_TOKEN", "DB_PASSWORD"],
            "timeout_s": 900,
            **extra,
        }
    )


def _pod(spec=None, **kwargs) -> k8s.V1Pod:
    return build_pod(
        spec or _spec(),
        storage_root=STORAGE_ROOT,
        tenant="acme",
        dag_id="acme__train_flow",
        run_id="manual__2026-11-25T11:00:00+00:00",
        **kwargs,
    )


def test_it_builds_a_pod_with_image_resources_mount_env_and_secret_refs(monkeypatch):
    monkeypatch.delenv("FLOWUI_K8S_NAMESPACE", raising=False)
    pod = _pod(_spec(image="registry.example.com/flowui-ml:3"))
    assert isinstance(pod, k8s.V1Pod) and pod.spec.restart_policy == "Never"
    assert pod.metadata.namespace == "flowui"
    assert pod.metadata.labels["flowui/tenant"] == "acme" and pod.metadata.labels["flowui/task-id"] == "train"
    assert pod.spec.active_deadline_seconds == 900
    (container,) = pod.spec.containers
    assert container.image == "registry.example.com/flowui-ml:3"

    assert container.resources.requests == {"cpu": "2.5", "memory": "4096Mi", "nvidia.com/gpu": "1"}
    assert container.resources.limits == container.resources.requests

    (volume,) = pod.spec.volumes
    assert volume.persistent_volume_claim.claim_name == "flowui-acme-storage"
    (mount,) = container.volume_mounts
    assert (mount.name, mount.mount_path) == (volume.name, str(STORAGE_ROOT))  # same layout path as Airflow's

    folder = contracts.run_dir(STORAGE_ROOT, "acme__train_flow", "manual__2026-11-25T11:00:00+00:00", "train")
    code_dir = contracts.operator_code_dir(STORAGE_ROOT, contracts.OperatorRef(**REF))
    assert container.command == [
        "python",
        "-m",
        "flowui_runtime",
        "run",
        "--operator-dir",
        str(code_dir),
        "--input-file",
        str(folder / "input.json"),
        "--run-dir",
        str(folder),
    ]
    assert container.working_dir == str(folder)
    env = {item.name: item for item in container.env}
    assert env["FLOWUI_RUN_DIR"].value == str(folder)
    assert env["FLOWUI_STORAGE_ROOT"].value == str(STORAGE_ROOT)
    for secret in ("API_TOKEN", "DB_PASSWORD"):
        assert env[secret].value is None  # never a literal value in the pod spec
        ref = env[secret].value_from.secret_key_ref
        assert isinstance(ref, k8s.V1SecretKeySelector)
        assert (ref.name, ref.key) == ("flowui-acme-secrets", secret)


def test_it_serialises_to_a_valid_pod_manifest_with_configured_names(monkeypatch):
    monkeypatch.setenv("FLOWUI_K8S_NAMESPACE", "tenants")
    monkeypatch.setenv("FLOWUI_K8S_PVC_CLAIM", "efs-{tenant}")
    monkeypatch.setenv("FLOWUI_K8S_SECRET_NAME", "{tenant}-operator-secrets")
    monkeypatch.setenv("FLOWUI_IMAGE_REGISTRY", "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    manifest = ApiClient().sanitize_for_serialization(_pod(_spec(resources={"cpu": 1, "memory_mb": 512})))
    assert manifest["kind"] == "Pod" and manifest["metadata"]["namespace"] == "tenants"
    name = manifest["metadata"]["name"]
    assert len(name) <= 63 and name.startswith("flowui-train-") and name == name.lower()
    container = manifest["spec"]["containers"][0]
    assert container["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/flowui-operators-ml:latest"
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}  # no GPU key when gpu == 0
    assert manifest["spec"]["volumes"][0]["persistentVolumeClaim"] == {"claimName": "efs-acme"}
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert refs == [
        {"name": "acme-operator-secrets", "key": "API_TOKEN", "optional": True},
        {"name": "acme-operator-secrets", "key": "DB_PASSWORD", "optional": True},
    ]
    # Pod names differ per run, so retries of other runs never collide.
    other = build_pod(_spec(), storage_root=STORAGE_ROOT, tenant="acme", dag_id="acme__train_flow", run_id="other")
    assert other.metadata.name != name


def test_it_fails_a_kubernetes_task_clearly_when_the_provider_is_missing(tmp_path):
    import json
    import os
    import subprocess

    from tests.runtime_fixtures import support

    repo = Path(__file__).resolve().parent.parent
    operator = support.operator_install(tmp_path / "acme", "rt_load")
    spec = support.task("load", operator, {"rows": {"value": 1}}, execution_mode="kubernetes")
    job = {"task_spec": spec, "storage_root": str(tmp_path / "acme"), "dag_id": "acme__k8s", "run_id": "r1"}
    completed = subprocess.run(
        [
            str(repo / ".airflow-venv/bin/python"),
            str(Path(support.__file__).parent / "execute_task.py"),
            json.dumps(job),
        ],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["state"] == "failed"
    assert "Kubernetes mode needs apache-airflow-providers-cncf-kubernetes" in outcome["error"]


def test_it_builds_the_tenant_secret_the_pods_reference(monkeypatch):
    """The tenant's V1Secret holds its values under the keys the pod's secretKeyRefs name, in the pod's
    namespace and under the same (configured) name; nothing of another tenant."""
    import base64

    monkeypatch.setenv("FLOWUI_K8S_NAMESPACE", "tenants")
    monkeypatch.setenv("FLOWUI_K8S_SECRET_NAME", "{tenant}-operator-secrets")
    secret = tenant_secret("acme", {"DB_PASSWORD": "pw-ä", "API_TOKEN": "tok-123"})
    manifest = ApiClient().sanitize_for_serialization(secret)
    assert (manifest["kind"], manifest["type"]) == ("Secret", "Opaque")
    assert manifest["metadata"]["name"] == "acme-operator-secrets"
    assert manifest["metadata"]["labels"]["flowui/tenant"] == "acme"
    decoded = {k: base64.b64decode(v).decode() for k, v in manifest["data"].items()}
    assert decoded == {"API_TOKEN": "tok-123", "DB_PASSWORD": "pw-ä"}
    pod = ApiClient().sanitize_for_serialization(_pod())
    refs = [e["valueFrom"]["secretKeyRef"] for e in pod["spec"]["containers"][0]["env"] if "valueFrom" in e]
    assert {(r["name"], r["key"]) for r in refs} == {(manifest["metadata"]["name"], k) for k in decoded}
    assert pod["metadata"]["namespace"] == manifest["metadata"]["namespace"]
    assert tenant_secret("globex", {}).metadata.name == "globex-operator-secrets"
