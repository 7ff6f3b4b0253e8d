"""The exceptions of workflow writes (`workflows.services`, `workflows.services_deploy`), in one place so both
modules raise the same types without importing each other."""

from __future__ import annotations

from typing import Any


class WorkflowConflict(Exception):
    """A save was based on a version that is no longer the current one."""

    def __init__(self, *, base_version: int | None, current_version: int | None):
        super().__init__(
            f"This workflow was changed meanwhile: you edited version {base_version}, the current one is "
            f"{current_version}. Reload it and apply your changes again."
        )
        self.base_version = base_version
        self.current_version = current_version


class WorkflowInvalid(Exception):
    """The spec has problems; `errors` is the per-node, per-field validation result."""

    def __init__(self, errors: dict[str, Any], message: str = "The workflow is not valid."):
        super().__init__(message)
        self.errors = errors


class WorkflowNotDeployable(Exception):
    pass


class WorkflowDeployFailed(Exception):
    """The deploy could not start (e.g. operator code could not be fetched); recorded on the workflow."""
