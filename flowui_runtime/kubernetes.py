"""Kubernetes mode: the task's entrypoint runs in a pod, through the cncf.kubernetes provider.

build_pod() makes the V1Pod (kubernetes client models):
- image: the TaskSpec's image, else the dependency group's default image (dockerfiles.group_image);
- resources: requests = limits = the node's cpu / memory (Mi) / GPUs (nvidia.com/gpu);
- the tenant's shared storage as a PersistentVolumeClaim mounted at storage_root, so the run folder and
  the operator code have the same paths in the pod as in Airflow;
- env: FLOWUI_RUN_DIR, FLOWUI_STORAGE_ROOT; each declared secret as a secretKeyRef (key = the secret's
  name) into the tenant's Kubernetes Secret, never as a literal value; optional, so a secret the tenant has
  not set is reported by the entrypoint (its SecretsModel) instead of a pod that never starts;
- restartPolicy Never, activeDeadlineSeconds = timeout_s, labels naming the tenant, DAG and task.

Configuration (Airflow's environment), `{tenant}` is replaced by the tenant's schema name:
  FLOWUI_K8S_NAMESPACE       default "flowui"
  FLOWUI_K8S_PVC_CLAIM       default "flowui-{tenant}-storage"
  FLOWUI_K8S_SECRET_NAME     default "flowui-{tenant}-secrets"
  FLOWUI_K8S_IN_CLUSTER      default "true" (Airflow runs in the cluster); "false" uses the kube config
tenant_secret() builds that Secret (a V1Secret of the tenant's values) and tenant_pvc() that claim
(ReadWriteMany), both applied by the platform's `kubernetes` provisioning step (tenants.provisioning).
KubernetesPodOperator comes from apache-airflow-providers-cncf-kubernetes, imported only when a task runs
in this mode; without the provider the task fails saying so.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from flowui_runtime import contracts
from flowui_runtime.dockerfiles import group_image

VOLUME_NAME = "tenant-storage"
CONTAINER_NAME = "operator"


class KubernetesModeError(Exception):
    pass


def setting(name: str, default: str, tenant: str) -> str:
    return (os.environ.get(name) or default).replace("{tenant}", tenant)


def _label(value: str) -> str:
    """Label values: <= 63 of [A-Za-z0-9-_.], starting and ending alphanumeric."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63].strip("-_.")
    return cleaned or "x"


def pod_name(dag_id: str, run_id: str, task_id: str) -> str:
    """DNS-1123 and unique per task run: readable prefix + hash."""
    digest = hashlib.sha256(f"{dag_id}/{run_id}/{task_id}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^a-z0-9-]", "-", f"{task_id}".lower()).strip("-")[:40] or "task"
    return f"flowui-{readable}-{digest}"


def tenant_secret(tenant: str, values: dict[str, str]) -> Any:
    """The tenant's Kubernetes Secret (FLOWUI_K8S_SECRET_NAME in FLOWUI_K8S_NAMESPACE) holding its secrets, one
    key per name, as the pods of build_pod() reference them. Values are base64 in `data`, as the API keeps them."""
    import base64

    from kubernetes.client import models as k8s

    return k8s.V1Secret(
        api_version="v1",
        kind="Secret",
        type="Opaque",
        metadata=k8s.V1ObjectMeta(
            name=setting("FLOWUI_K8S_SECRET_NAME", "flowui-{tenant}-secrets", tenant),
            namespace=setting("FLOWUI_K8S_NAMESPACE", "flowui", tenant),
            labels={"app.kubernetes.io/managed-by": "flowui", "flowui/tenant": _label(tenant)},
        ),
        data={name: base64.b64encode(value.encode()).decode("ascii") for name, value in sorted(values.items())},
    )


def pvc_name(tenant: str) -> str:
    return setting("FLOWUI_K8S_PVC_CLAIM", "flowui-{tenant}-storage", tenant)


def tenant_pvc(tenant: str, *, size: str = "10Gi", storage_class: str = "") -> Any:
    """The tenant's storage claim that build_pod() mounts: ReadWriteMany (Airflow's worker writes input.json,
    the pod its results, several pods at once), `size` requested, the cluster's default class unless named."""
    from kubernetes.client import models as k8s

    return k8s.V1PersistentVolumeClaim(
        api_version="v1",
        kind="PersistentVolumeClaim",
        metadata=k8s.V1ObjectMeta(
            name=pvc_name(tenant),
            namespace=setting("FLOWUI_K8S_NAMESPACE", "flowui", tenant),
            labels={"app.kubernetes.io/managed-by": "flowui", "flowui/tenant": _label(tenant)},
        ),
        spec=k8s.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteMany"],
            storage_class_name=storage_class or None,
            resources=k8s.V1VolumeResourceRequirements(requests={"storage": size}),
        ),
    )


def build_pod(
    spec: contracts.TaskSpec,
    *,
    storage_root: str | Path,
    tenant: str,
    dag_id: str,
    run_id: str,
    code_dir: Path | None = None,
    folder: Path | None = None,
) -> Any:
    from kubernetes.client import models as k8s

    storage_root = Path(storage_root)
    folder = folder or contracts.run_dir(storage_root, dag_id, run_id, spec.task_id)
    code_dir = code_dir or contracts.operator_code_dir(storage_root, spec.operator)
    quantity = {"cpu": f"{spec.resources.cpu:g}", "memory": f"{spec.resources.memory_mb}Mi"}
    if spec.resources.gpu:
        quantity["nvidia.com/gpu"] = str(spec.resources.gpu)
    secret_name = setting("FLOWUI_K8S_SECRET_NAME", "flowui-{tenant}-secrets", tenant)
    env = [
        k8s.V1EnvVar(name="FLOWUI_RUN_DIR", value=str(folder)),
        k8s.V1EnvVar(name="FLOWUI_STORAGE_ROOT", value=str(storage_root)),
        k8s.V1EnvVar(name="PYTHONUNBUFFERED", value="1"),
    ]
    env += [
        k8s.V1EnvVar(
            name=name,
            value_from=k8s.V1EnvVarSource(
                secret_key_ref=k8s.V1SecretKeySelector(name=secret_name, key=name, optional=True)
            ),
        )
        for name in spec.secrets
    ]
    container = k8s.V1Container(
        name=CONTAINER_NAME,
        image=spec.image or group_image(spec.dependency_group),
        command=contracts.entrypoint_command(python="python", operator_dir=code_dir, run_dir=folder),
        working_dir=str(folder),
        env=env,
        resources=k8s.V1ResourceRequirements(requests=dict(quantity), limits=dict(quantity)),
        volume_mounts=[k8s.V1VolumeMount(name=VOLUME_NAME, mount_path=str(storage_root))],
    )
    return k8s.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=k8s.V1ObjectMeta(
            name=pod_name(dag_id, run_id, spec.task_id),
            namespace=setting("FLOWUI_K8S_NAMESPACE", "flowui", tenant),
            labels={
                "app.kubernetes.io/managed-by": "flowui",
                "flowui/tenant": _label(tenant),
                "flowui/dag-id": _label(dag_id),
                "flowui/task-id": _label(spec.task_id),
                "flowui/operator": _label(spec.operator.name),
            },
        ),
        spec=k8s.V1PodSpec(
            restart_policy="Never",
            active_deadline_seconds=spec.timeout_s,
            containers=[container],
            volumes=[
                k8s.V1Volume(
                    name=VOLUME_NAME,
                    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=pvc_name(tenant)),
                )
            ],
        ),
    )


class KubernetesRunner:
    def __init__(self, *, spec: contracts.TaskSpec, storage_root: Path, log: Any, tenant: str = ""):
        self.spec = spec
        self.storage_root = Path(storage_root)
        self.log = log
        self.tenant = tenant or self.storage_root.name  # storage roots are VOLUME/<tenant schema>
        self._pod_operator: Any = None

    def run(self, *, code_dir: Path, folder: Path, dag_id: str, run_id: str, context: Any) -> int:
        try:
            from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        except ImportError:
            message = (
                f"{self.spec.task_id}: Kubernetes mode needs apache-airflow-providers-cncf-kubernetes "
                "in Airflow's environment"
            )
            self.log.error("FlowUI: %s", message)
            raise KubernetesModeError(message) from None
        pod = build_pod(
            self.spec, storage_root=self.storage_root, tenant=self.tenant, dag_id=dag_id, run_id=run_id,
            code_dir=code_dir, folder=folder,
        )  # fmt: skip
        self._pod_operator = KubernetesPodOperator(
            task_id=f"{self.spec.task_id}__pod",
            namespace=pod.metadata.namespace,
            full_pod_spec=pod,
            in_cluster=os.environ.get("FLOWUI_K8S_IN_CLUSTER", "true").lower() != "false",
            get_logs=True,
            on_finish_action="delete_pod",
            startup_timeout_seconds=600,
        )
        self.log.info("FlowUI: starting pod %s in namespace %s", pod.metadata.name, pod.metadata.namespace)
        try:
            self._pod_operator.execute(context)
        except Exception:
            if (folder / contracts.RESULT_FILE).exists():
                return 1  # the entrypoint ran and explained the failure in result.json
            raise
        return 0

    def on_kill(self) -> None:
        if self._pod_operator is not None:
            self._pod_operator.on_kill()
