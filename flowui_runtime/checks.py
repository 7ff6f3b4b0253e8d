"""The checks an operator folder must pass, shared by the registry sync and the authoring CLI (offline).

Nothing here imports Django: `python -m flowui_runtime.checks PATH` validates an operator folder or a whole
repository (a folder holding `operators/`) and prints one line per operator. Schema extraction (importing
model.py) happens in a sandboxed process, see `flowui_runtime.inspect`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from flowui_runtime.domino_layout import PIECES_FOLDER, domino_repository_convert
from flowui_runtime.metadata import NAME_RE, DependenciesMap, GuiStyle, OperatorMetadata, OperatorResources

REQUIRED_FILES = ("model.py", "operator.py")
METADATA_FILE = "metadata.json"
DEPENDENCIES_MAP_PATH = "dependencies/dependencies_map.json"
OPERATOR_FUNCTION = "operator_function"


def requirements_hash(requirements: list[str]) -> str:
    """The one definition of a dependency group's identity: the venv folder name and image tag use it.

    sha256 of the stripped, non-empty requirement lines, sorted and joined by newlines; first 16 hex chars.
    """
    lines = sorted(line.strip() for line in requirements if line and line.strip())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def requirement_line_error(line: str) -> str | None:
    """Why a dependency group's requirement line is not allowed (None when it is a plain pin).

    The one rule, used by the registry sync, the venv build and `python -m flowui_runtime.checks`: a line is
    `name[extras]==version` with an optional environment marker (`; python_version >= "3.10"`). Options
    (`-r`, `--index-url`, `-e`), direct references (`name @ url`), URLs, paths, ranges and wildcards are not:
    they would make pip read files, use other indexes or install something other than one named version."""
    from packaging.requirements import InvalidRequirement, Requirement

    shown = line if len(line) <= 200 else line[:200] + "..."
    text = line.strip()
    if not text:
        return f"requirement line {shown!r} is empty"
    if any(ch in text for ch in "\n\r\t\x00\\#") or text.startswith("-"):
        return (
            f"requirement line {shown!r} is not a plain pin (name==version): options, comments and "
            "line continuations are not allowed"
        )
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot be parsed"
        return f"requirement line {shown!r} is not a plain pin (name==version): {reason}"
    if requirement.url:
        return (
            f"requirement line {shown!r} is not a plain pin (name==version): direct references (name @ URL) "
            "are not allowed"
        )
    specs = list(requirement.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        return (
            f"requirement line {shown!r} is not a plain pin: give exactly one version with == (no ranges or wildcards)"
        )
    return None


def requirements_errors(requirements: list[str]) -> list[str]:
    """The problems of a group's requirement lines (empty when all are plain pins)."""
    return [error for line in requirements if (error := requirement_line_error(line))]


def dependency_group_errors(deps_map: DependenciesMap) -> dict[str, str]:
    """{group name: why its requirement lines are refused} for the groups of a dependencies map."""
    errors = {}
    for name, group in deps_map.groups.items():
        problems = requirements_errors([line for line in group.requirements if line.strip()])
        if problems:
            errors[name] = f"dependency group {name!r} in {DEPENDENCIES_MAP_PATH}: " + "; ".join(problems)
    return errors


def validation_error_text(exc: ValidationError, *, source: str) -> str:
    """A pydantic error as one readable line per problem: `source: field 'a.b': what is wrong`."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "unknown key (not allowed)"
        parts.append(f"{source}: field '{location}': {message}" if location else f"{source}: {message}")
    return "; ".join(parts)


@dataclass
class OperatorCheck:
    """The outcome of the file and metadata checks of one `operators/{folder}`."""

    folder: str
    metadata: OperatorMetadata | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def name(self) -> str:
        return self.metadata.name if self.metadata else self.folder


# Keys of metadata.json that FlowUI reads, by section; other keys are ignored with a warning (authors and other
# tools, Domino among them, keep keys of their own there).
_METADATA_SECTIONS = {"style": GuiStyle, "resources": OperatorResources}
_KEY_ALIASES = {"style": {"color": "colour"}}


def _unknown_keys_drop(data: dict, warnings: list[str]) -> dict:
    """A copy of the metadata without the keys FlowUI does not read (each named in `warnings`)."""
    cleaned = {}
    for key, value in data.items():
        if key not in OperatorMetadata.model_fields:
            warnings.append(f"metadata.json: unknown key '{key}' ignored")
            continue
        model = _METADATA_SECTIONS.get(key)
        if model is not None and isinstance(value, dict):
            section = {}
            for inner, inner_value in value.items():
                name = _KEY_ALIASES.get(key, {}).get(inner, inner)
                if name not in model.model_fields:
                    warnings.append(f"metadata.json: unknown key '{key}.{inner}' ignored")
                elif name not in section:
                    section[name] = inner_value
            value = section
        cleaned[key] = value
    return cleaned


def metadata_parse(text: str | None, *, folder: str, warnings: list[str] | None = None) -> OperatorMetadata:
    """metadata.json text (None when the file is absent) -> OperatorMetadata. Raises ValueError with a clear text
    for wrong types and values; unknown keys are dropped and named in `warnings` (`color` is read as `colour`)."""
    if text is None:
        data: dict = {}
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"metadata.json is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
        if not isinstance(data, dict):
            raise ValueError(f"metadata.json must hold a JSON object, not {type(data).__name__}")
    data.setdefault("name", folder)
    data = _unknown_keys_drop(data, warnings if warnings is not None else [])
    try:
        return OperatorMetadata.model_validate(data)
    except ValidationError as exc:
        raise ValueError(validation_error_text(exc, source="metadata.json"))


def _python_syntax_error(path: Path) -> str | None:
    try:
        ast.parse(path.read_bytes(), filename=path.name)
    except SyntaxError as exc:
        return f"{path.name} line {exc.lineno}: syntax error: {exc.msg}"
    except (OSError, ValueError) as exc:
        return f"{path.name} cannot be read: {exc}"
    return None


def _operator_function_error(path: Path) -> str | None:
    """operator.py must define `operator_function` at module level (checked without running it)."""
    tree = ast.parse(path.read_bytes(), filename=path.name)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == OPERATOR_FUNCTION:
            if not node.args.args:
                return f"operator.py: {OPERATOR_FUNCTION} must take the input model as its first argument"
            return None
        if isinstance(node, ast.Assign | ast.ImportFrom | ast.Import):
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            names += [alias.asname or alias.name for alias in getattr(node, "names", [])]
            if OPERATOR_FUNCTION in names:
                return None
    return f"operator.py does not define {OPERATOR_FUNCTION}(input_model)"


def operator_dir_check(path: Path, *, folder: str | None = None) -> OperatorCheck:
    """Files, metadata and Python syntax of one operator folder (no code is run)."""
    folder = folder or path.name
    check = OperatorCheck(folder=folder)
    if not NAME_RE.match(folder):
        check.errors.append(
            f"folder name {folder!r} is not a valid operator name "
            "(start with a letter; letters, digits and '_' only; max 80)"
        )
    if not path.is_dir():
        check.errors.append(f"{path} is not a folder")
        return check
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        check.errors.append(f"missing required file{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    metadata_path = path / METADATA_FILE
    try:
        text = metadata_path.read_text(encoding="utf-8") if metadata_path.is_file() else None
        check.metadata = metadata_parse(text, folder=folder, warnings=check.warnings)
    except UnicodeDecodeError:
        check.errors.append("metadata.json is not UTF-8 text")
    except ValueError as exc:
        check.errors.append(str(exc))
    if check.metadata and check.metadata.name != folder:
        check.errors.append(f"metadata.json name {check.metadata.name!r} does not match the folder name {folder!r}")
    for name in REQUIRED_FILES:
        if name not in missing:
            error = _python_syntax_error(path / name)
            if error:
                check.errors.append(error)
            elif name == "operator.py":
                error = _operator_function_error(path / name)
                if error:
                    check.errors.append(error)
    return check


def duplicate_names_mark(checks: dict[str, OperatorCheck]) -> None:
    """Folders claiming one operator name (by metadata name, or differing only in case) fail; when the name
    is its own folder's, only the intruders fail (the owner keeps syncing)."""
    claimed: dict[str, list[str]] = {}
    for folder, check in checks.items():
        for name in {folder.lower(), check.name.lower()}:
            claimed.setdefault(name, []).append(folder)
    for name, folders in claimed.items():
        if len(folders) > 1:
            owners = [f for f in folders if f.lower() == name and checks[f].name.lower() == name]
            intruders = [f for f in folders if f not in owners] if len(owners) == 1 else folders
            for folder in intruders:
                others = ", ".join(f"operators/{other}" for other in folders if other != folder)
                message = f"duplicate operator name {name!r}: also claimed by {others}"
                if message not in checks[folder].errors:
                    checks[folder].errors.append(message)


def dependencies_map_parse(text: str | None) -> DependenciesMap:
    """dependencies_map.json text (None when absent) -> DependenciesMap; ValueError with a clear text.

    Accepts both {"groups": {...}} and the bare {group: {...}} form."""
    if text is None:
        return DependenciesMap()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{DEPENDENCIES_MAP_PATH} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
    if isinstance(data, dict) and "groups" not in data:
        data = {"groups": data}
    try:
        return DependenciesMap.model_validate(data)
    except ValidationError as exc:
        raise ValueError(validation_error_text(exc, source=DEPENDENCIES_MAP_PATH))


def operator_folders(root: Path) -> list[Path]:
    operators = root / "operators"
    if not operators.is_dir():
        return []
    return sorted(p for p in operators.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def validate_path(
    path: Path, *, extract: bool = True, timeout_s: int = 20, memory_mb: int = 2048, sandboxed: bool = False
) -> dict:
    """The sync's checks, offline: PATH is an operator folder or a repository root (holding operators/, or a
    Domino repository holding pieces/, checked as the sync maps it).

    Returns {"operators": {folder: {"ok", "name", "version", "errors", "input_schema"?...}}, "errors": [...]}."""
    from flowui_runtime.inspect import InspectJob, extract_schemas

    path = Path(path).resolve()
    if not (path / "operators").is_dir() and (path / PIECES_FOLDER).is_dir():
        with tempfile.TemporaryDirectory(prefix="flowui-domino-") as workdir:
            mapping_warnings = domino_repository_convert(path, Path(workdir))
            report = validate_path(
                Path(workdir), extract=extract, timeout_s=timeout_s, memory_mb=memory_mb, sandboxed=sandboxed
            )
        for folder, entry in report["operators"].items():
            entry["warnings"] = mapping_warnings.get(folder, []) + entry["warnings"]
        return report
    report: dict = {"operators": {}, "errors": []}
    if (path / "operators").is_dir():
        folders = operator_folders(path)
        try:
            map_path = path / DEPENDENCIES_MAP_PATH
            deps_map = dependencies_map_parse(map_path.read_text(encoding="utf-8") if map_path.is_file() else None)
            report["errors"].extend(dependency_group_errors(deps_map).values())
        except ValueError as exc:
            report["errors"].append(str(exc))
    else:
        folders = [path]
    checks = {folder.name: operator_dir_check(folder) for folder in folders}
    duplicate_names_mark(checks)
    jobs = [InspectJob(key=f.name, operator_dir=f, python=sys.executable) for f in folders if checks[f.name].ok]
    results = {}
    if extract and jobs:
        results = {
            r.key: r for r in extract_schemas(jobs, timeout_s=timeout_s, memory_mb=memory_mb, sandboxed=sandboxed)
        }
    for folder in folders:
        check = checks[folder.name]
        entry = {
            "name": check.name,
            "version": check.metadata.version if check.metadata else None,
            "errors": list(check.errors),
            "warnings": list(check.warnings),
        }
        result = results.get(folder.name)
        if result is not None:
            if result.ok:
                entry.update(
                    input_schema=result.input_schema,
                    output_schema=result.output_schema,
                    secrets_schema=result.secrets_schema,
                )
                entry["warnings"] += output_path_warnings(result.output_schema)
            else:
                entry["errors"].append(result.error)
        entry["ok"] = not entry["errors"]
        report["operators"][folder.name] = entry
    return report


def output_path_warnings(output_schema: dict | None) -> list[str]:
    """Output fields named like files (`*_path`, `*_file`) that are not typed pathlib.Path: the platform hands
    only Path fields downstream as files, so such a value reaches the next node as a bare string."""
    properties = (output_schema or {}).get("properties") or {}
    return [
        f"OutputModel field '{name}' looks like a file but is not typed pathlib.Path: downstream nodes get the "
        "string as written, not the produced file"
        for name, prop in properties.items()
        if name.endswith(("_path", "_file"))
        and not any(p.get("format") == "path" for p in [prop, *prop.get("anyOf", [])] if isinstance(p, dict))
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m flowui_runtime.checks PATH (an operator folder or a repository root)")
        return 2
    report = validate_path(Path(argv[0]))
    for error in report["errors"]:
        print(f"ERROR {error}")
    for folder, entry in report["operators"].items():
        if entry["ok"]:
            print(f"ok    {folder} {entry['version']}")
        else:
            for error in entry["errors"]:
                print(f"ERROR {folder}: {error}")
    if not report["operators"]:
        print("ERROR no operator folders found")
        return 1
    failed = bool(report["errors"]) or any(not e["ok"] for e in report["operators"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
