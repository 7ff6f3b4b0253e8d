"""Archiving a tenant's files: old run results (Celery beat, every tenant) and the whole tenant (before it
is deleted). Copies are verified (size and sha256) before anything is removed; on any failure the
originals stay where they were.

Targets: in aws mode the tenant's S3 bucket (run results) or the platform's archive bucket (whole
tenants); in local mode VOLUME/<schema>/archive/ (run results) or FLOWUI_TENANT_ARCHIVE_DIR (whole tenants).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import quote_schema_name, schema_exists

from flowui.lib import aws
from tenants.models import Tenant, TenantResources
from tenants.provisioning import BUCKET_LIFECYCLE_RULES, _slug
from tenants.selectors import tenant_shared_dags_folder, tenant_storage_root

logger = logging.getLogger(__name__)

ARCHIVE_FOLDER = "archive"
MANIFEST = "manifest.json"


class ArchiveError(Exception):
    """An archive copy could not be made or does not match the original."""


def file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _deploy_mode(tenant: Tenant) -> str:
    resources = TenantResources.objects.filter(tenant=tenant).first()
    return resources.deploy_mode if resources else settings.FLOWUI_DEPLOY_MODE


# --- run results ----------------------------------------------------------------------------------
@dataclass
class RunsArchiveReport:
    tenant: str
    target: str
    archived: list[str] = field(default_factory=list)  # run folders (runs/<dag>/<run>) copied and removed
    failed: dict[str, str] = field(default_factory=dict)  # run folder -> why it was left in place
    files: int = 0
    bytes: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                newest = max(newest, (Path(dirpath) / name).lstat().st_mtime)
            except OSError:
                continue
    return newest


def old_run_folders(*, tenant: Tenant, now: datetime | None = None, max_age_hours: int | None = None) -> list[Path]:
    """runs/<dag>/<run>/ folders of the tenant whose newest file is older than the age limit."""
    hours = settings.FLOWUI_RUNS_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    cutoff = ((now or timezone.now()) - timedelta(hours=hours)).timestamp()
    runs = tenant_storage_root(tenant=tenant) / "runs"
    if not runs.is_dir():
        return []
    found = []
    for dag_folder in sorted(p for p in runs.iterdir() if p.is_dir() and not p.is_symlink()):
        for run_folder in sorted(p for p in dag_folder.iterdir() if p.is_dir() and not p.is_symlink()):
            if _newest_mtime(run_folder) < cutoff:
                found.append(run_folder)
    return found


def _run_files(run_folder: Path) -> list[tuple[str, Path, int, str]]:
    """(relative path, path, size, sha256) of every regular file of a run folder."""
    files = []
    for dirpath, _dirs, names in os.walk(run_folder):
        for name in sorted(names):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue  # never follow links out of the tenant's storage
            size, sha = file_digest(path)
            files.append((path.relative_to(run_folder).as_posix(), path, size, sha))
    return files


def _archive_run_local(root: Path, run_rel: str, files) -> str:
    target = root / ARCHIVE_FOLDER / run_rel
    try:
        target.mkdir(parents=True, exist_ok=True)
        for rel, path, size, sha in files:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(dest.name + ".partial")
            shutil.copyfile(path, partial)
            os.replace(partial, dest)
            if file_digest(dest) != (size, sha):
                raise ArchiveError(f"{dest}: the copy does not match the original (size or sha256)")
        manifest = {rel: {"size": size, "sha256": sha} for rel, _p, size, sha in files}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    except OSError as exc:
        raise ArchiveError(f"cannot write the archive copy under {target}: {exc.strerror or exc}") from None
    return str(target)


def _archive_run_s3(bucket: str, run_rel: str, files) -> str:
    if not bucket:
        raise ArchiveError("the tenant has no S3 bucket (provisioning not done)")
    for rel, path, size, sha in files:
        key = f"{run_rel}/{rel}"
        aws.s3_file_upload(bucket=bucket, key=key, path=path, sha256=sha)
        if aws.s3_object_digest(bucket=bucket, key=key) != (size, sha):
            raise ArchiveError(f"s3://{bucket}/{key}: the copy does not match the original (size or sha256)")
    manifest = {rel: {"size": size, "sha256": sha} for rel, _p, size, sha in files}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    try:
        aws.s3_file_upload(
            bucket=bucket, key=f"{run_rel}/{MANIFEST}", path=handle.name, sha256=file_digest(Path(handle.name))[1]
        )
    finally:
        os.unlink(handle.name)
    return f"s3://{bucket}/{run_rel}/"


def tenant_runs_archive(*, tenant: Tenant, now: datetime | None = None) -> RunsArchiveReport:
    """Copy old run folders to the archive, verify every file, and only then remove them from runs/.
    A run folder whose copy fails in any way is left untouched (and reported)."""
    root = tenant_storage_root(tenant=tenant)
    mode = _deploy_mode(tenant)
    bucket = ""
    if mode == "aws":
        resources = TenantResources.objects.filter(tenant=tenant).first()
        bucket = resources.bucket_name if resources else ""
        target = f"s3://{bucket}/runs/" if bucket else "s3 (no bucket)"
    else:
        target = str(root / ARCHIVE_FOLDER / "runs")
    report = RunsArchiveReport(tenant=tenant.schema_name, target=target)
    for run_folder in old_run_folders(tenant=tenant, now=now):
        run_rel = run_folder.relative_to(root).as_posix()  # runs/<dag>/<run>
        try:
            files = _run_files(run_folder)
            if mode == "aws":
                _archive_run_s3(bucket, run_rel, files)
            else:
                _archive_run_local(root, run_rel, files)
        except (ArchiveError, aws.AwsError, OSError) as exc:
            report.failed[run_rel] = str(exc)
            logger.warning("housekeeping %s: %s left in place: %s", tenant.schema_name, run_rel, exc)
            continue
        shutil.rmtree(run_folder)
        try:
            run_folder.parent.rmdir()  # the DAG's folder, once its last old run is gone
        except OSError:
            pass
        report.archived.append(run_rel)
        report.files += len(files)
        report.bytes += sum(size for _r, _p, size, _s in files)
    if report.archived or report.failed:
        logger.info(
            "housekeeping %s: %d run(s) archived to %s, %d failed",
            tenant.schema_name,
            len(report.archived),
            target,
            len(report.failed),
        )
    return report


# --- a whole tenant, before deletion ---------------------------------------------------------------
def _schema_tables_dump(schema_name: str, dest: Path) -> list[str]:
    """Every table of the tenant's schema as CSV (with header), through the platform's own connection so it
    also sees uncommitted work. The schema's structure is that of its migrations, listed in the
    django_migrations.csv it includes. Returns the file names written."""
    if not schema_exists(schema_name):
        return []
    dest.mkdir(parents=True, exist_ok=True)
    qn = connection.ops.quote_name
    written = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            [schema_name],
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            sql = f"COPY {quote_schema_name(schema_name)}.{qn(table)} TO STDOUT WITH (FORMAT csv, HEADER)"
            with open(dest / f"{table}.csv", "wb") as handle, cursor.cursor.copy(sql) as copy:
                for chunk in copy:
                    handle.write(chunk)
            written.append(f"{table}.csv")
    return written


def archive_bucket_name() -> str:
    return settings.FLOWUI_ARCHIVE_BUCKET or _slug(f"{settings.PROJECT_NAME}-archive")


def tenant_data_archive(*, tenant: Tenant) -> tuple[str, str]:
    """A tar.gz of the tenant's storage folder, its DAG files (its folder of the shared Airflow's DAGs folder,
    FLOWUI_DAGS_DIR/<schema>/) and its schema's tables (CSV), stored in the archive folder (local) or the archive
    bucket (aws) and verified. Returns (location, sha256)."""
    root = tenant_storage_root(tenant=tenant)
    dags = tenant_shared_dags_folder(tenant=tenant)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"{tenant.schema_name}-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="flowui-archive-") as work:
        work_dir = Path(work)
        tar_path = work_dir / name
        dump = work_dir / "database"
        tables = _schema_tables_dump(tenant.schema_name, dump)
        try:
            with tarfile.open(tar_path, "w:gz") as tar:
                if root.is_dir():
                    tar.add(root, arcname=f"{tenant.schema_name}/storage")
                if dags.is_dir():
                    tar.add(dags, arcname=f"{tenant.schema_name}/dags")
                if tables:
                    tar.add(dump, arcname=f"{tenant.schema_name}/database")
        except OSError as exc:
            raise ArchiveError(f"cannot pack {root}: {exc.strerror or exc}") from None
        size, sha = file_digest(tar_path)
        if _deploy_mode(tenant) == "aws":
            bucket = archive_bucket_name()
            aws.s3_bucket_ensure(
                name=bucket, tags={"flowui:project": settings.PROJECT_NAME}, lifecycle_rules=BUCKET_LIFECYCLE_RULES
            )
            key = f"tenants/{name}"
            aws.s3_file_upload(bucket=bucket, key=key, path=tar_path, sha256=sha)
            if aws.s3_object_digest(bucket=bucket, key=key) != (size, sha):
                raise ArchiveError(f"s3://{bucket}/{key}: the archive copy does not match")
            return f"s3://{bucket}/{key}", sha
        dest_dir = Path(settings.FLOWUI_TENANT_ARCHIVE_DIR)
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            dest = dest_dir / name
            shutil.copyfile(tar_path, dest)
        except OSError as exc:
            raise ArchiveError(f"cannot write the archive to {dest_dir}: {exc.strerror or exc}") from None
        if file_digest(dest) != (size, sha):
            raise ArchiveError(f"{dest}: the archive copy does not match")
        return str(dest), sha
