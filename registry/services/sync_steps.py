"""The steps of one repository sync, in order (`sync_steps_run`): read the tree at the ref, ensure the dependency
groups, sort each operator folder into unchanged / failed before with the same files / changed, export and check
the changed ones, extract their schemas in the sandbox and store each good one, then finish the run and queue the
venv builds. A repository problem raises (sources.SourceRefused, git.GitError, ValueError): `sync.repository_sync`
ends the run with the reason."""

from __future__ import annotations

import functools
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowui.lib import git
from flowui_runtime.checks import (
    DEPENDENCIES_MAP_PATH,
    OperatorCheck,
    dependency_group_errors,
    duplicate_names_mark,
    operator_dir_check,
    output_path_warnings,
    requirements_hash,
)
from flowui_runtime.dockerfiles import group_image
from flowui_runtime.inspect import InspectJob, InspectResult, extract_schemas
from flowui_runtime.metadata import DependenciesMap
from registry.layouts import RepositoryLayout, repository_layout
from registry.models import DependencyGroup, OperatorVersion, Repository, SyncRun
from registry.services.repositories import repository_cache_fetch
from registry.services.venvs import dependency_venv_python

logger = logging.getLogger(__name__)

DEFAULT_GROUP = "default"
_PROGRESS_EVERY_S = 0.3

ProgressCallback = Callable[[int, int], None]


@dataclass
class _Sync:
    """What the steps of one sync share: the run, the tree read at the ref, the groups and the report."""

    sync_run: SyncRun
    cache: Path
    commit: str
    tags: list[str]
    folders: dict[str, str]  # operator folder name -> git tree hash
    deps_map: DependenciesMap
    layout: RepositoryLayout
    groups: dict[str, DependencyGroup] = field(default_factory=dict)
    group_errors: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=lambda: {"operators": {}, "warnings": [], "extracted": 0})
    latest: dict[tuple[str, str], OperatorVersion] = field(default_factory=dict)
    on_progress: ProgressCallback | None = None
    done: int = 0
    saved_at: float = 0.0

    @property
    def repository(self) -> Repository:
        return self.sync_run.repository

    def result(self, name: str, **entry: Any) -> None:
        """Record one operator's outcome in the report and advance the progress."""
        self.report["operators"][name] = entry
        self.advance()

    def advance(self, *, step: int = 1, force: bool = False) -> None:
        self.done += step
        if self.on_progress is not None:
            self.on_progress(self.done, len(self.folders))
        if force or time.monotonic() - self.saved_at > _PROGRESS_EVERY_S:
            SyncRun.objects.filter(pk=self.sync_run.pk).update(progress_done=self.done)
            self.saved_at = time.monotonic()


def sync_steps_run(sync_run: SyncRun, *, on_progress: ProgressCallback | None = None, full: bool = False) -> SyncRun:
    """The sync of a running SyncRun (its lock held by the caller): the steps below, the run `done` at the end."""
    started = time.monotonic()
    state = _tree_read(sync_run, on_progress=on_progress)
    if state is None:
        raise ValueError(
            f"No operator folders: operators/{{name}}/ is empty or missing at {sync_run.repository.ref}"
            f" ({sync_run.commit[:8]})."
        )
    state.groups, state.group_errors = _groups_ensure(repository=state.repository, deps_map=state.deps_map)
    _report_start(state)
    changed = _changed_folders(state, previous_errors=_previous_errors(state, full=full))
    state.advance(step=len(state.folders) - len(changed), force=True)
    with tempfile.TemporaryDirectory(prefix="flowui-sync-") as workdir:
        export_root = Path(workdir)
        checks = _changed_check(state, changed=changed, export_root=export_root)
        jobs, job_groups = _inspect_jobs(state, checks=checks, export_root=export_root)
        for result in extract_schemas(
            jobs,
            timeout_s=settings.FLOWUI_INSPECT_TIMEOUT_S,
            memory_mb=settings.FLOWUI_INSPECT_MEMORY_MB,
            workers=settings.FLOWUI_INSPECT_WORKERS,
        ):
            _extracted_store(state, result=result, check=checks[result.key], group=job_groups.get(result.key))
    _sync_finish(state, started=started)
    _venv_builds_enqueue(job_groups.values())
    return sync_run


def _tree_read(sync_run: SyncRun, *, on_progress: ProgressCallback | None) -> _Sync | None:
    """Fetch into the cache clone, resolve the ref (the run's commit), list the operator folders and parse the
    dependencies map; None when there is no operator folder at that commit."""
    repository = sync_run.repository
    cache = repository_cache_fetch(repository=repository)
    commit = git.resolve(repo=cache, ref=repository.ref)
    tags = git.tags(repo=cache)
    layout = repository_layout(repo=cache, commit=commit)  # FlowUI's operators/ or a Domino pieces/ repository
    folders = layout.folders
    sync_run.commit = commit
    if not folders:
        return None
    deps_map = layout.deps_map
    return _Sync(
        sync_run=sync_run,
        cache=cache,
        commit=commit,
        tags=tags,
        folders=folders,
        deps_map=deps_map,
        layout=layout,
        on_progress=on_progress,
    )


def _groups_ensure(
    *, repository: Repository, deps_map: DependenciesMap
) -> tuple[dict[str, DependencyGroup], dict[str, str]]:
    """The DependencyGroup rows of the map as it is now (new rows for new or changed groups), and the groups
    refused because a requirement line is not a plain pin ({name: error naming the line}; no row for them)."""
    errors = dependency_group_errors(deps_map)
    definitions = {name: (group.requirements, group.image) for name, group in deps_map.groups.items()}
    definitions.setdefault(DEFAULT_GROUP, ([], ""))
    groups = {}
    for name, (requirements, image) in definitions.items():
        if name in errors:
            continue
        requirements = [line.strip() for line in requirements if line.strip()]
        req_hash = requirements_hash(requirements)
        image = group_image(name, image)  # the image builder's naming (flowui_runtime.dockerfiles)
        group = DependencyGroup.objects.filter(
            repository=repository, name=name, requirements_hash=req_hash, image=image
        ).first()
        if group is None:
            group = DependencyGroup.objects.create(
                repository=repository, name=name, requirements=requirements, requirements_hash=req_hash, image=image
            )
        groups[name] = group
    return groups, errors


def _report_start(state: _Sync) -> None:
    """The run's commit, total and empty report saved; the stored versions of these folders loaded."""
    if state.group_errors:
        state.report["group_errors"] = state.group_errors
    sync_run = state.sync_run
    sync_run.progress_total = len(state.folders)
    sync_run.report = state.report
    sync_run.save(update_fields=["commit", "progress_total", "report"])
    versions = OperatorVersion.objects.filter(repository=state.repository, name__in=list(state.folders))
    for version in versions.order_by("created_at"):
        state.latest[(version.name, version.tree_hash)] = version


def _previous_errors(state: _Sync, *, full: bool) -> tuple[SyncRun | None, dict[str, dict]]:
    """A broken operator whose files, the dependencies map, the set of operators and the built venvs are all
    as in the last finished sync keeps its error without being extracted again (a hang costs its timeout once):
    that sync and its errors, by operator name (none when `full` or when anything of the above changed)."""
    map_blob = state.layout.map_id
    ready_venvs = sorted(
        g.requirements_hash for g in state.groups.values() if dependency_venv_python(g) != sys.executable
    )
    fingerprint = requirements_hash([f"map={map_blob}", f"venvs={ready_venvs}", f"operators={sorted(state.folders)}"])
    state.report["fingerprint"] = fingerprint
    runs = state.repository.sync_runs.filter(state=SyncRun.State.DONE).exclude(pk=state.sync_run.pk)
    previous = runs.order_by("-id").first()
    if previous is None or full or (previous.report or {}).get("fingerprint") != fingerprint:
        return previous, {}
    return previous, {
        name: entry
        for name, entry in previous.report.get("operators", {}).items()
        if entry.get("status") == "error" and entry.get("tree_hash")
    }


def _changed_folders(state: _Sync, *, previous_errors: tuple[SyncRun | None, dict[str, dict]]) -> list[str]:
    """The folders to check and extract; the others are reported unchanged or failed as before."""
    previous, errors = previous_errors
    changed: list[str] = []
    for name, tree_hash in state.folders.items():
        known = state.latest.get((name, tree_hash))
        group = (
            state.groups.get(state.deps_map.group_of(name, known.metadata.get("dependency_group", DEFAULT_GROUP)))
            if known
            else None
        )
        failed_before = errors.get(name)
        if known is not None and group is not None and group.pk == known.dependency_group_id:
            state.report["operators"][name] = {
                "status": "unchanged",
                "version": known.version,
                "operator_version_id": known.pk,
            }
        elif previous is not None and failed_before is not None and failed_before["tree_hash"] == tree_hash:
            state.report["operators"][name] = {
                "status": "error",
                "error": failed_before["error"],
                "tree_hash": tree_hash,
                "unchanged_since": previous.pk,
            }
        else:
            changed.append(name)
    return changed


def _changed_check(state: _Sync, *, changed: list[str], export_root: Path) -> dict[str, OperatorCheck]:
    """Export the changed folders and check them (files, metadata, names unique across all folders)."""
    export_warnings = state.layout.export(names=changed, destination=export_root)
    checks = {name: operator_dir_check(export_root / "operators" / name, folder=name) for name in changed}
    for name, warnings in export_warnings.items():
        checks[name].warnings[:0] = warnings
    # Unchanged operators still claim their names (a changed folder may not take one of them).
    duplicate_names_mark({name: OperatorCheck(folder=name) for name in state.folders} | checks)
    return checks


def _inspect_jobs(
    state: _Sync, *, checks: dict[str, OperatorCheck], export_root: Path
) -> tuple[list[InspectJob], dict[str, DependencyGroup]]:
    """One schema extraction job per changed operator that passed its checks, with its group's python;
    the others are reported (error, or unchanged when that version at that commit is stored already)."""
    jobs: list[InspectJob] = []
    job_groups: dict[str, DependencyGroup] = {}
    for name, check in checks.items():
        if check.ok and check.metadata is not None:
            group_name = state.deps_map.group_of(name, check.metadata.dependency_group)
            if group_name in state.group_errors:
                check.errors.append(state.group_errors[group_name])
            elif group_name not in state.groups:
                check.errors.append(f"dependency group {group_name!r} is not defined in {DEPENDENCIES_MAP_PATH}")
            elif (
                check.metadata.version
                and OperatorVersion.objects.filter(
                    repository=state.repository, name=name, version=check.metadata.version, commit=state.commit
                ).exists()
            ):
                state.result(name, status="unchanged", version=check.metadata.version)
                continue
            else:
                group = state.groups[group_name]
                job_groups[name] = group
                python = dependency_venv_python(group)
                jobs.append(InspectJob(key=name, operator_dir=export_root / "operators" / name, python=python))
                continue
        state.result(name, status="error", error="; ".join(check.errors), tree_hash=state.folders[name])
    return jobs, job_groups


def _extracted_store(
    state: _Sync, *, result: InspectResult, check: OperatorCheck, group: DependencyGroup | None
) -> None:
    """One extraction's outcome: an immutable OperatorVersion (and its warnings), or the error."""
    state.report["extracted"] += 1
    name = result.key
    metadata = check.metadata
    if not result.ok or metadata is None or group is None:
        error = result.error or "schema extraction failed"
        state.result(name, status="error", error=error, tree_hash=state.folders[name])
        return
    try:
        with transaction.atomic():
            stored = OperatorVersion.objects.create(
                repository=state.repository,
                name=name,
                version=metadata.version,
                commit=state.commit,
                tree_hash=state.folders[name],
                input_schema=result.input_schema or {},
                output_schema=result.output_schema,
                secrets_schema=result.secrets_schema,
                metadata=metadata.model_dump(mode="json") | {"dependency_group": group.name},
                dependency_group=group,
                image=group.image,
            )
    except IntegrityError:
        state.result(name, status="unchanged", version=metadata.version)
        return
    if any(n == name and v.version == metadata.version for (n, _), v in state.latest.items()):
        state.report["warnings"].append(
            f"{name}: files changed but version {metadata.version} was not bumped; "
            f"the newest commit ({state.commit[:8]}) now serves {metadata.version}"
        )
    warnings = check.warnings + output_path_warnings(result.output_schema)
    state.report["warnings"] += [f"{name}: {warning}" for warning in warnings]
    state.result(
        name,
        status="synced",
        version=metadata.version,
        operator_version_id=stored.pk,
        extract_s=result.duration_s,
        warnings=warnings,
    )


def _sync_finish(state: _Sync, *, started: float) -> None:
    """The counts and duration in the report, the run done, the repository's last sync state."""
    report = state.report
    counts = {status: 0 for status in ("synced", "unchanged", "error")}
    for entry in report["operators"].values():
        counts[entry["status"]] += 1
    report["counts"] = counts
    report["duration_s"] = round(time.monotonic() - started, 3)
    now = timezone.now()
    sync_run = state.sync_run
    sync_run.report = report
    sync_run.progress_done = len(state.folders)
    sync_run.state = SyncRun.State.DONE
    sync_run.finished_at = now
    sync_run.save(update_fields=["report", "progress_done", "state", "finished_at"])
    Repository.objects.filter(pk=state.repository.pk).update(
        last_sync_state=Repository.SyncState.PARTIAL if counts["error"] else Repository.SyncState.OK,
        last_sync_error=f"{counts['error']} operator(s) have errors; see sync #{sync_run.pk}"
        if counts["error"]
        else "",
        last_synced_at=now,
        last_synced_commit=state.commit,
        available_tags=state.tags,
    )


def _venv_builds_enqueue(groups: Iterable[DependencyGroup]) -> None:
    """Local mode with autobuild: queue the venv build of each group with requirements, after commit."""
    if not (settings.FLOWUI_VENVS_AUTOBUILD and settings.FLOWUI_DEPLOY_MODE == "local"):
        return
    from registry.tasks import dependency_venv_task  # cycle: registry.tasks imports registry.services

    def enqueue(pk: int) -> None:
        try:
            dependency_venv_task.delay(pk)
        except Exception as exc:  # a broker outage must not fail a finished sync
            logger.warning("could not queue the venv build of dependency group %s: %s", pk, exc)

    for pk in sorted({g.pk for g in groups if g.requirements}):
        transaction.on_commit(functools.partial(enqueue, pk))
