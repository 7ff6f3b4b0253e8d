"""`flowui-operator new|test|schema|organize` and the "files outside the run folder" check of `run`.

Kept apart from cli.py (validate, run) so each module stays short; cli.py registers these commands.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from flowui_runtime.runtime_path import runtime_pythonpath

EXIT_OK, EXIT_FAILED = 0, 1
TEST_FILE = "test_operator.py"
# Folders never compared by the outside-writes check: caches Python and tools write on their own.
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", "node_modules", ".cache", ".pytest_cache", ".ruff_cache"}
_SNAPSHOT_MAX_ENTRIES = 20000


class CliError(Exception):
    """A mistake of the person running the command: printed as one clear message, no traceback (exit 2)."""


def operator_dir_find(name: str, repo: Path) -> Path:
    candidate = Path(name)
    if os.sep in name and candidate.is_dir():
        return candidate.resolve()
    operators = repo / "operators"
    if not operators.is_dir():
        raise CliError(f"{repo.resolve()} has no operators/ folder: run from a repository root or pass --repo PATH")
    folder = operators / name
    if not folder.is_dir():
        known = sorted(p.name for p in operators.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        raise CliError(f"no operator {name!r} in {operators.resolve()}; known: {', '.join(known) or 'none'}")
    return folder.resolve()


# --- new --------------------------------------------------------------------------------------------
def command_new(args: argparse.Namespace) -> int:
    from flowui_runtime.scaffold import ScaffoldError, scaffold_operator

    repo = Path(args.repo)
    try:
        written = scaffold_operator(repo=repo, name=args.name, group=args.group)
    except ScaffoldError as exc:
        raise CliError(str(exc))
    for path in written:
        print(f"created {path}")
    folder = repo / "operators" / args.name
    print(
        "next:\n"
        f"  flowui-operator validate {folder}\n"
        f"  flowui-operator test {args.name} --repo {repo}\n"
        f"  flowui-operator run {args.name} --repo {repo} --input {folder / 'example_input.json'}"
    )
    return EXIT_OK


# --- test -------------------------------------------------------------------------------------------
def command_test(args: argparse.Namespace) -> int:
    operator_dir = operator_dir_find(args.name, Path(args.repo))
    test_file = operator_dir / TEST_FILE
    if not test_file.is_file():
        raise CliError(f"{test_file}: no such file (an operator's own tests live in {TEST_FILE})")
    probe = subprocess.run([args.python, "-c", "import pytest"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise CliError(
            f"pytest is not installed for {args.python}: `{args.python} -m pip install pytest` "
            "(or install flowui-runtime[test])"
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [runtime_pythonpath(), env.get("PYTHONPATH")]))
    # From the repository root, so operators/conftest.py (the scaffold's fixtures) applies as in `make test`.
    root = operator_dir.parent.parent if operator_dir.parent.name == "operators" else operator_dir
    command = [args.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
               "--import-mode=importlib", "--rootdir", str(root), str(test_file), *args.pytest_args]  # fmt: skip
    print(f"testing {operator_dir.name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    code = subprocess.run(command, cwd=root, env=env).returncode
    if code != 0:
        print(f"FAILED {operator_dir.name}: its tests did not pass (pytest exit code {code})", file=sys.stderr)
        return EXIT_FAILED
    print(f"ok {operator_dir.name}: its tests pass", file=sys.stderr)
    return EXIT_OK


# --- schema -----------------------------------------------------------------------------------------
def command_schema(args: argparse.Namespace) -> int:
    from flowui_runtime.checks import validate_path

    operator_dir = operator_dir_find(args.name, Path(args.repo))
    report = validate_path(operator_dir, extract=True, timeout_s=args.timeout)
    entry = report["operators"].get(operator_dir.name) or {}
    errors = report["errors"] + entry.get("errors", [])
    if errors:
        for error in errors:
            print(f"ERROR {operator_dir.name}: {error}", file=sys.stderr)
        return EXIT_FAILED
    schemas = {
        "input": entry.get("input_schema"),
        "output": entry.get("output_schema"),
        "secrets": entry.get("secrets_schema"),
    }
    print(json.dumps(schemas if args.which == "all" else schemas[args.which], indent=2))
    return EXIT_OK


# --- organize ---------------------------------------------------------------------------------------
def command_organize(args: argparse.Namespace) -> int:
    """dependencies_map.json's `operators` lists from each operator's metadata.json `dependency_group`; the
    groups' requirements and images are the author's and stay as they are."""
    from flowui_runtime.checks import DEPENDENCIES_MAP_PATH, dependencies_map_parse, metadata_parse, operator_folders
    from flowui_runtime.metadata import DependencyGroup

    repo = Path(args.repo).resolve()
    if not (repo / "operators").is_dir():
        raise CliError(f"{repo} has no operators/ folder: run from a repository root or pass --repo PATH")
    map_path = repo / DEPENDENCIES_MAP_PATH
    try:
        map_text = map_path.read_text(encoding="utf-8") if map_path.is_file() else None
        deps_map = dependencies_map_parse(map_text)
    except (OSError, ValueError) as exc:
        raise CliError(f"{map_path}: {exc}")
    members: dict[str, list[str]] = {}
    problems = []
    for folder in operator_folders(repo):
        metadata_file = folder / "metadata.json"
        try:
            text = metadata_file.read_text(encoding="utf-8") if metadata_file.is_file() else None
            group = metadata_parse(text, folder=folder.name).dependency_group
        except (OSError, ValueError) as exc:
            problems.append(f"{metadata_file.relative_to(repo)}: {exc}")
            continue
        if group not in deps_map.groups and group != "default":
            problems.append(
                f"{metadata_file.relative_to(repo)}: field 'dependency_group': {group!r} is not a group of "
                f"{DEPENDENCIES_MAP_PATH} (add it there with its requirements, or use one of: "
                f"{', '.join(sorted(deps_map.groups | {'default': None})) or 'default'})"
            )
            continue
        members.setdefault(group, []).append(folder.name)
    if problems:
        for problem in problems:
            print(f"ERROR {problem}", file=sys.stderr)
        print(f"{DEPENDENCIES_MAP_PATH} not written", file=sys.stderr)
        return EXIT_FAILED
    groups = dict(deps_map.groups)
    if "default" in members and "default" not in groups:
        groups["default"] = DependencyGroup()
    for name, group in groups.items():
        wanted = members.get(name, [])  # kept in the map's order, newcomers appended sorted
        ordered = [o for o in group.operators if o in wanted] + sorted(set(wanted) - set(group.operators))
        groups[name] = group.model_copy(update={"operators": ordered})
    data = {"groups": {name: group.model_dump() for name, group in groups.items()}}
    new_text = map_text_layout(data)
    if map_text is not None and deps_map.model_dump() == data:  # the same map, maybe laid out otherwise
        print(f"{DEPENDENCIES_MAP_PATH} is up to date")
        return EXIT_OK
    map_path.parent.mkdir(parents=True, exist_ok=True)
    map_path.write_text(new_text, encoding="utf-8")
    for name, group in groups.items():
        print(f"{name}: {', '.join(group.operators) or '(no operators)'}")
    print(f"wrote {map_path}")
    return EXIT_OK


def map_text_layout(data: dict) -> str:
    """The layout of the bundled map: one line per field, lists on their line."""
    groups = [
        f"    {json.dumps(name)}: {{\n"
        + ",\n".join(f"      {json.dumps(key)}: {json.dumps(value)}" for key, value in group.items())
        + "\n    }"
        for name, group in data["groups"].items()
    ]
    return '{\n  "groups": {\n' + ",\n".join(groups) + "\n  }\n}\n"


# --- run: files written outside the run folder ------------------------------------------------------
def snapshot(folders: list[Path], *, run_dir: Path) -> dict[str, tuple[int, int]]:
    """{path: (size, mtime_ns)} of the files under `folders` (the run folder and caches excluded), capped."""
    files: dict[str, tuple[int, int]] = {}
    run_dir = run_dir.resolve()
    for top in folders:
        for root, dirs, names in os.walk(top):
            current = Path(root)
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and (current / d).resolve() != run_dir]
            for name in names:
                path = current / name
                try:
                    info = path.lstat()
                except OSError:
                    continue
                files[str(path)] = (info.st_size, info.st_mtime_ns)
                if len(files) >= _SNAPSHOT_MAX_ENTRIES:
                    return files
    return files


def watched_folders(*, cwd: Path, storage_root: Path, operator_dir: Path, run_dir: Path) -> list[Path]:
    """The folders a careless operator writes into: where the author stands, the storage, its own code."""
    unique: list[Path] = []
    for folder in (cwd, storage_root, operator_dir.parent.parent):
        folder = folder.resolve()
        if folder.is_dir() and folder != run_dir.resolve() and not any(folder.is_relative_to(u) for u in unique):
            unique = [u for u in unique if not u.is_relative_to(folder)] + [folder]
    return unique


def outside_writes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


def parsers_add(commands: argparse._SubParsersAction) -> None:
    new = commands.add_parser("new", help="scaffold operators/NAME with model, function, metadata and a test")
    new.add_argument("name", help="operator name: letters, digits and '_', starting with a letter")
    new.add_argument("--repo", default=".", help="repository root (default: current folder)")
    new.add_argument(
        "--group",
        default="default",
        help="dependency group (from dependencies/dependencies_map.json; default: 'default')",
    )
    new.set_defaults(handler=command_new)

    python_help = "Python to run with, e.g. the dependency group's virtualenv (default: this one)"

    test = commands.add_parser("test", help="run the operator's own tests (pytest on its test_operator.py)")
    test.add_argument("name", help="operator name (folder under operators/), or a path to an operator folder")
    test.add_argument("--repo", default=".", help="repository root holding operators/ (default: current folder)")
    test.add_argument("--python", default=sys.executable, help=python_help)
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    test.set_defaults(handler=command_test)

    schema = commands.add_parser("schema", help="print the operator's input/output/secrets JSON Schema")
    schema.add_argument("name", help="operator name (folder under operators/), or a path to an operator folder")
    schema.add_argument("--repo", default=".", help="repository root holding operators/ (default: current folder)")
    schema.add_argument("--which", choices=["all", "input", "output", "secrets"], default="all")
    schema.add_argument("--timeout", type=float, default=20, help="seconds allowed to import model.py")
    schema.set_defaults(handler=command_schema)

    organize = commands.add_parser(
        "organize", help="write dependencies/dependencies_map.json's operator lists from each metadata.json"
    )
    organize.add_argument("--repo", default=".", help="repository root holding operators/ (default: current folder)")
    organize.set_defaults(handler=command_organize)
