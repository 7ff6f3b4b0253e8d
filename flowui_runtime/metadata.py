"""Schemas of an operator repository's files: `operators/{name}/metadata.json` and
`dependencies/dependencies_map.json`. Used by the registry sync, the authoring CLI and the runtime.

Operator folder contract (the design's layout):
- `model.py` (required): Pydantic models `InputModel` (required), `OutputModel` and `SecretsModel` (optional).
- `operator.py` (required): `operator_function(input_model)` or `operator_function(input_model, secrets)`,
  returning an `OutputModel` instance or a dict valid for it. It imports its models with
  `from model import InputModel, OutputModel`. It runs with the task's run folder as working directory
  (also in FLOWUI_RUN_DIR) and the tenant's storage root in FLOWUI_STORAGE_ROOT; files it writes there are
  results. An output field holding a produced file is a path (absolute, or relative to the run folder).
- `metadata.json` (optional): see `OperatorMetadata`; missing keys take the defaults below.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flowui_runtime.contracts import EXECUTION_MODES, SECRET_NAME_RULE, secret_name_valid

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){0,2}([-.+][0-9A-Za-z.]+)?$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class GuiStyle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(default="", max_length=60, description="Node title on the canvas; default: the name.")
    colour: str = Field(default="#4a6fa5", description="Node colour, #rrggbb.")
    icon: str = Field(default="box", max_length=40, description="Icon name (see static/icons).")

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not COLOUR_RE.match(value):
            raise ValueError("must be a #rrggbb colour")
        return value


class OperatorResources(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpu: float = Field(default=1.0, gt=0, le=96)
    memory_mb: int = Field(default=1024, ge=64, le=786432)
    gpu: int = Field(default=0, ge=0, le=8)
    processes: int = Field(default=256, ge=16, le=4096, description="Most processes/threads at once (local).")
    file_size_mb: int = Field(default=1024, ge=1, le=102400, description="Largest file it may write (local).")


class OperatorMetadata(BaseModel):
    """metadata.json of one operator."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Must equal the operator's folder name.")
    version: str = Field(default="0.1.0")
    description: str = Field(default="", max_length=2000)
    tags: list[str] = Field(default_factory=list)
    style: GuiStyle = Field(default_factory=GuiStyle)
    dependency_group: str = Field(default="default")
    resources: OperatorResources = Field(default_factory=OperatorResources)
    execution_modes: list[str] = Field(default_factory=lambda: ["local", "batch", "kubernetes"])
    secrets: list[str] = Field(default_factory=list, description="Names of secrets the operator reads.")
    network: bool = Field(
        default=False,
        description="Outbound network access. Off by default: the local sandbox then has no network at all; "
        "when true it reaches the internet but never the platform's hosts, loopback or private ranges.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError("must start with a letter and hold only letters, digits and '_' (max 80)")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not VERSION_RE.match(value):
            raise ValueError("must look like 1.2.3")
        return value

    @field_validator("execution_modes")
    @classmethod
    def _modes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EXECUTION_MODES))
        if unknown or not value:
            raise ValueError(f"each must be one of {', '.join(EXECUTION_MODES)}")
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not secret_name_valid(name)]
        if bad:
            raise ValueError(f"invalid secret name {', '.join(map(repr, bad))}: {SECRET_NAME_RULE}")
        if len(set(value)) != len(value):
            raise ValueError("each secret name may appear once")
        return value


class DependencyGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str = Field(default="", description="Container image for batch/kubernetes; default derived.")
    requirements: list[str] = Field(default_factory=list, description="pip requirement lines.")
    operators: list[str] = Field(default_factory=list, description="Operator names in this group.")


class DependenciesMap(BaseModel):
    """dependencies/dependencies_map.json: {group name: {image, requirements, operators}}."""

    model_config = ConfigDict(extra="forbid")
    groups: dict[str, DependencyGroup] = Field(default_factory=dict)

    def group_of(self, operator_name: str, declared: str = "default") -> str:
        for group_name, group in self.groups.items():
            if operator_name in group.operators:
                return group_name
        return declared
