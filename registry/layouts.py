"""Where a repository keeps its operators at one commit: FlowUI's layout (`operators/<name>/` and
`dependencies/dependencies_map.json`) or a Domino pieces repository (`pieces/<Name>/`, read through
`flowui_runtime.domino_layout`). The sync and the code materialisation read a repository only through
`repository_layout`, so both layouts give them the same thing: operator folders with tree hashes, a
dependencies map, and `export()` writing FlowUI operator folders under `destination/operators/<name>`."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from flowui.lib import git
from flowui_runtime.checks import DEPENDENCIES_MAP_PATH, dependencies_map_parse, requirements_hash
from flowui_runtime.domino_layout import PIECES_FOLDER, domino_repository_map, piece_operator_write
from flowui_runtime.metadata import DependenciesMap


def _trees(entries: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {
        name: obj for name, (kind, obj) in sorted(entries.items()) if kind == "tree" and not name.startswith((".", "_"))
    }


@dataclass
class RepositoryLayout:
    repo: Path
    commit: str
    kind: str  # "flowui" | "domino"
    folders: dict[str, str]  # operator name -> git tree hash of its folder

    def _read(self, path: str) -> str | None:
        return git.file_text(repo=self.repo, commit=self.commit, path=path)

    @cached_property
    def deps_map(self) -> DependenciesMap:
        """The dependency groups (ValueError with a clear text when FlowUI's map is not valid)."""
        if self.kind == "domino":
            return domino_repository_map(piece_names=list(self.folders), read_text=self._read).deps_map
        return dependencies_map_parse(self._read(DEPENDENCIES_MAP_PATH))

    @cached_property
    def map_id(self) -> str:
        """Changes whenever the dependency definitions change (part of the sync's fingerprint)."""
        entries = git.tree_entries(repo=self.repo, commit=self.commit, folder="dependencies")
        if self.kind == "flowui":
            return entries.get("dependencies_map.json", ("", ""))[1]
        config = requirements_hash([self._read("config.toml") or ""])
        return requirements_hash([f"{name}={obj}" for name, (_, obj) in entries.items()] + [f"config={config}"])

    def export(self, *, names: list[str], destination: Path) -> dict[str, list[str]]:
        """Write these operators as FlowUI operator folders under destination/operators/; returns warnings per
        operator (a Domino piece's mapping notes, e.g. a Dockerfile dependency)."""
        if self.kind == "flowui" or not names:
            git.export(
                repo=self.repo, commit=self.commit, paths=[f"operators/{n}" for n in names], destination=destination
            )
            return {}
        mapped = domino_repository_map(piece_names=names, read_text=self._read)
        with tempfile.TemporaryDirectory(prefix="flowui-domino-") as workdir:
            pieces = Path(workdir)
            git.export(
                repo=self.repo, commit=self.commit, paths=[f"{PIECES_FOLDER}/{n}" for n in names], destination=pieces
            )
            for name in names:
                piece_operator_write(
                    piece_dir=pieces / PIECES_FOLDER / name,
                    target=destination / "operators" / name,
                    metadata=mapped.metadata.get(name),
                )
        return mapped.warnings


def repository_layout(*, repo: Path, commit: str) -> RepositoryLayout:
    """The repository's layout at `commit`: Domino's when it has `pieces/` and no `operators/`."""
    operators = _trees(git.tree_entries(repo=repo, commit=commit, folder="operators"))
    if not operators:
        pieces = _trees(git.tree_entries(repo=repo, commit=commit, folder=PIECES_FOLDER))
        if pieces:
            return RepositoryLayout(repo=repo, commit=commit, kind="domino", folders=pieces)
    return RepositoryLayout(repo=repo, commit=commit, kind="flowui", folders=operators)
