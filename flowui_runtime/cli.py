"""Command line for operator authors, Django-free and offline: `flowui-operator` (the console script of the
flowui-runtime distribution, runtime/pyproject.toml), also `python -m flowui_runtime.cli`:

    python -m flowui_runtime.cli validate PATH [--json] [--no-extract]
        The registry sync's checks on an operator folder or a whole repository (a folder holding
        operators/): files, metadata.json, dependencies_map.json, Python syntax, and the JSON Schemas of
        model.py extracted in the same sandbox the sync uses. Also warns about what the sync accepts but
        the editor needs (a description on every field, a test_operator.py).
    python -m flowui_runtime.cli run NAME --input FILE [--repo PATH] [--secrets FILE] [--run-dir DIR]
        Runs operators/NAME locally through the runtime entrypoint (the code every execution mode runs),
        in a fresh run folder, and prints the output as JSON on stdout. Operator logs go to stderr.
    python -m flowui_runtime.cli new NAME [--repo PATH]
        Scaffolds operators/NAME with model.py, operator.py, metadata.json and a passing test_operator.py.
    test NAME | schema NAME | organize: see cli_commands.py (the operator's own tests, its JSON Schemas,
        dependencies_map.json's operator lists from the operators' declared groups).

Exit codes: 0 success; 1 checks failed or the operator failed; 2 a usage error or an input that is not
valid (the message says which); 3 the operator cannot be loaded.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from flowui_runtime.cli_commands import (  # CliError and operator_dir_find are used by both modules
    CliError,
    operator_dir_find,
    outside_writes,
    parsers_add,
    snapshot,
    watched_folders,
)
from flowui_runtime.runtime_path import runtime_pythonpath

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


# --- validate ---------------------------------------------------------------------------------------
def command_validate(args: argparse.Namespace) -> int:
    from flowui_runtime.checks import validate_path

    path = Path(args.path)
    if not path.is_dir():
        raise CliError(f"{path} is not a folder: give an operator folder or a repository holding operators/")
    if not (path / "operators").is_dir() and not (path / "model.py").exists() and not (path / "operator.py").exists():
        raise CliError(f"{path} holds neither operators/ nor an operator (model.py, operator.py)")
    report = validate_path(path, extract=not args.no_extract, timeout_s=args.timeout)
    group_problems(path, report)
    for folder, entry in report["operators"].items():
        entry["ok"] = not entry["errors"]
        entry["warnings"] = operator_warnings(path, folder, entry) if entry["ok"] else []
        entry.pop("group_warnings", None)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for error in report["errors"]:
            print(f"ERROR {error}")
        for folder, entry in report["operators"].items():
            if entry["ok"]:
                print(f"ok    {folder} {entry['version']}")
            for error in entry["errors"]:
                print(f"ERROR {folder}: {error}")
            for warning in entry["warnings"]:
                print(f"WARN  {folder}: {warning}")
        if not report["operators"]:
            print("ERROR no operator folders found under operators/")
        failed = sum(1 for entry in report["operators"].values() if not entry["ok"])
        print(f"{len(report['operators']) - failed} of {len(report['operators'])} operators valid")
    failed = (
        bool(report["errors"])
        or not report["operators"]
        or any(not entry["ok"] for entry in report["operators"].values())
    )
    return EXIT_FAILED if failed else EXIT_OK


def group_problems(path: Path, report: dict) -> None:
    """The sync refuses an operator whose dependency group the repository's map does not define ('default'
    always exists); the map's listing wins over metadata.json, which deserves a warning."""
    from flowui_runtime.checks import DEPENDENCIES_MAP_PATH, dependencies_map_parse, metadata_parse

    repo = path if (path / "operators").is_dir() else path.resolve().parent.parent
    map_path = repo / DEPENDENCIES_MAP_PATH
    if path.resolve().parent.name != "operators" and not (path / "operators").is_dir():
        return  # a lone operator folder: no repository, no map to check against
    try:
        deps_map = dependencies_map_parse(map_path.read_text(encoding="utf-8") if map_path.is_file() else None)
    except (OSError, ValueError):
        return  # already reported by validate_path for a repository
    defined = set(deps_map.groups) | {"default"}
    for folder, entry in report["operators"].items():
        entry.setdefault("group_warnings", [])
        operator_dir = repo / "operators" / folder
        try:
            text = (operator_dir / "metadata.json").read_text(encoding="utf-8")
            declared = metadata_parse(text, folder=folder).dependency_group
        except FileNotFoundError:
            declared = "default"
        except (OSError, ValueError):
            continue  # metadata errors are reported already
        group = deps_map.group_of(folder, declared)
        if group not in defined:
            entry["errors"].append(f"dependency group {group!r} is not defined in {DEPENDENCIES_MAP_PATH}")
        elif group != declared:
            entry["group_warnings"].append(
                f"metadata.json says dependency_group {declared!r} but {DEPENDENCIES_MAP_PATH} lists it in "
                f"{group!r} (the map wins)"
            )


def operator_warnings(path: Path, folder: str, entry: dict) -> list[str]:
    """What the sync accepts but authors should fix: fields the editor cannot explain, untested code."""
    warnings = list(entry.get("warnings", [])) + list(entry.get("group_warnings", []))
    for key, model in (
        ("input_schema", "InputModel"),
        ("output_schema", "OutputModel"),
        ("secrets_schema", "SecretsModel"),
    ):
        schema = entry.get(key)
        if schema:
            undocumented = fields_without_description(schema)
            if undocumented:
                warnings.append(f"{model} fields without a description: {', '.join(undocumented)}")
    operator_dir = path / "operators" / folder if (path / "operators").is_dir() else path
    if not (operator_dir / "metadata.json").is_file():
        warnings.append("no metadata.json: defaults are used (no description, label or tags in the catalog)")
    if not (operator_dir / "test_operator.py").is_file():
        warnings.append("no test_operator.py")
    return warnings


def fields_without_description(schema: dict) -> list[str]:
    """Property names (nested models as a.b) lacking a description, following local $refs."""
    definitions = schema.get("$defs", {})
    missing: list[str] = []

    def resolve(node: dict) -> dict:
        ref = node.get("$ref", "")
        return definitions.get(ref.rsplit("/", 1)[-1], {}) if ref.startswith("#/$defs/") else node

    def walk(node: dict, prefix: str, seen: frozenset) -> None:
        for name, prop in (node.get("properties") or {}).items():
            if not prop.get("description") and not resolve(prop).get("description"):
                missing.append(prefix + name)
            for candidate in [prop, *prop.get("anyOf", []), prop.get("items") or {}]:
                target = resolve(candidate)
                ref = candidate.get("$ref")
                if target is not candidate and ref not in seen and target.get("properties"):
                    walk(target, f"{prefix}{name}.", seen | {ref})

    walk(schema, "", frozenset())
    return missing


# --- run --------------------------------------------------------------------------------------------
def json_object_read(path_text: str, what: str) -> dict:
    try:
        text = sys.stdin.read() if path_text == "-" else Path(path_text).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read the {what} file {path_text}: {exc.strerror or exc}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"the {what} file {path_text} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
    if not isinstance(value, dict):
        raise CliError(f'the {what} file {path_text} must hold a JSON object ({{"field": value, ...}})')
    return value


def input_warnings(operator_dir: Path, input_values: dict, *, python: str, sandboxed: bool) -> list[str]:
    """Keys InputModel does not know are dropped by pydantic without a word: a typo must not pass unseen."""
    try:
        from flowui_runtime.inspect import InspectJob, extract_schemas

        job = InspectJob(key="run", operator_dir=operator_dir, python=python)
        result = next(extract_schemas([job], sandboxed=sandboxed))
    except Exception:  # only a hint: the run itself reports every real problem
        return []
    properties = (result.input_schema or {}).get("properties") if result.ok else None
    if not properties or (result.input_schema or {}).get("additionalProperties") is not None:
        return []
    unknown = sorted(set(input_values) - set(properties))
    if not unknown:
        return []
    return [f"input key(s) not in InputModel, ignored: {', '.join(unknown)} (fields: {', '.join(properties)})"]


def command_run(args: argparse.Namespace) -> int:
    from flowui_runtime.contracts import INPUT_FILE, RESULT_FILE, entrypoint_command

    operator_dir = operator_dir_find(args.name, Path(args.repo))
    input_values = json_object_read(args.input, "input")
    secrets = json_object_read(args.secrets, "secrets") if args.secrets else None
    if args.run_dir:
        run_dir = Path(args.run_dir).resolve()
        if run_dir.exists() and any(run_dir.iterdir()):
            raise CliError(f"the run folder {run_dir} is not empty: give a new or empty folder")
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = Path(tempfile.mkdtemp(prefix=f"flowui-run-{operator_dir.name}-"))
    storage_root = Path(args.storage_root or os.environ.get("FLOWUI_STORAGE_ROOT") or os.getcwd()).resolve()

    for warning in input_warnings(operator_dir, input_values, python=args.python, sandboxed=args.sandbox):
        print(f"WARN  {warning}", file=sys.stderr)

    input_file = run_dir / INPUT_FILE
    input_file.write_text(json.dumps(input_values, indent=2), encoding="utf-8")
    command = entrypoint_command(python=args.python, operator_dir=operator_dir, run_dir=run_dir)
    secrets_file = None
    if secrets is not None:
        # Outside the run folder, which is kept and may be shared.
        handle, secrets_name = tempfile.mkstemp(prefix="flowui-secrets-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(secrets, stream)
        secrets_file = Path(secrets_name)
        command += ["--secrets-file", str(secrets_file)]
    if args.sandbox:
        start = _sandboxed_start(args, operator_dir=operator_dir, run_dir=run_dir, storage_root=storage_root,
                                 secrets_file=secrets_file)  # fmt: skip
    else:
        # HOME and TMPDIR: a fresh folder, as the sandbox gives a private /tmp (also HOME), removed after.
        scratch = tempfile.TemporaryDirectory(prefix="flowui-home-")
        env = dict(os.environ, FLOWUI_STORAGE_ROOT=str(storage_root), FLOWUI_RUN_DIR=str(run_dir))
        env.update(HOME=scratch.name, TMPDIR=scratch.name)
        env["FLOWUI_UNSANDBOXED"] = "1"  # operators that run untrusted code (python_snippet) refuse
        # The runtime package must be importable by the chosen Python (a group's venv), and nothing else of ours.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [runtime_pythonpath(), env.get("PYTHONPATH")]))
        start = functools.partial(
            subprocess.Popen, command, env=env, cwd=run_dir, stdout=sys.stderr, start_new_session=True
        )
    print(f"running {operator_dir.name} in {run_dir}", file=sys.stderr, flush=True)
    # Unsandboxed, nothing stops writes elsewhere; the platform's sandbox would refuse them: say so.
    watched = [] if args.sandbox else watched_folders(cwd=Path.cwd(), storage_root=storage_root,
                                                      operator_dir=operator_dir, run_dir=run_dir)  # fmt: skip
    before = snapshot(watched, run_dir=run_dir)
    try:
        code = _run_process(start, timeout_s=args.timeout)
    except subprocess.TimeoutExpired:
        raise CliError(f"{operator_dir.name} did not finish within {args.timeout:g} s (run folder: {run_dir})")
    except OSError as exc:
        raise CliError(f"cannot start {args.python}: {exc.strerror or exc}")
    finally:
        if secrets_file is not None:
            secrets_file.unlink(missing_ok=True)
        if not args.sandbox:
            scratch.cleanup()
    written = outside_writes(before, snapshot(watched, run_dir=run_dir))
    if written:
        shown = ", ".join(written[:10]) + (f" and {len(written) - 10} more" if len(written) > 10 else "")
        print(
            f"WARN  {operator_dir.name} wrote files outside its run folder: {shown} (on the platform the storage "
            "and the operator's code are read-only: write under the run folder, the working directory)",
            file=sys.stderr,
        )

    result_path = run_dir / RESULT_FILE
    if not result_path.is_file():
        print(f"ERROR {operator_dir.name} ended (exit code {code}) without writing {RESULT_FILE}", file=sys.stderr)
        return EXIT_FAILED
    result = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("status") != "success":
        # The entrypoint already wrote the error (and the operator's traceback) to stderr.
        print(f"FAILED {operator_dir.name} (run folder: {run_dir})", file=sys.stderr)
        return code if code in (1, 2, 3) else EXIT_FAILED
    print(json.dumps(result.get("output") or {}, indent=2))
    print(f"ok {operator_dir.name} in {result.get('duration_s', 0):.2f} s; files are in {run_dir}", file=sys.stderr)
    return EXIT_OK


def _sandboxed_start(
    args: argparse.Namespace, *, operator_dir: Path, run_dir: Path, storage_root: Path, secrets_file: Path | None
) -> Any:
    """`run --sandbox`: the entrypoint in the platform's bubblewrap sandbox, as a local task runs it."""
    from flowui_runtime import sandbox
    from flowui_runtime.contracts import entrypoint_command

    try:
        if not sandbox.enabled():
            raise sandbox.SandboxUnavailable("--sandbox was asked for, but FLOWUI_SANDBOX=off turns the sandbox off")
        sandbox.check_available()
    except sandbox.SandboxUnavailable as exc:
        raise CliError(str(exc))
    inside_run, inside_operator = "/flowui/run", f"{sandbox.INSIDE_OPERATORS}/{operator_dir.name}"
    ro = [(str(storage_root), sandbox.INSIDE_STORAGE), (str(operator_dir), inside_operator)]
    if secrets_file is not None:
        ro.append((str(secrets_file), "/flowui/secrets.json"))
    env = {"FLOWUI_RUN_DIR": inside_run, "FLOWUI_STORAGE_ROOT": sandbox.INSIDE_STORAGE, "PYTHONUNBUFFERED": "1"}
    box, python = sandbox.python_sandbox(
        python=args.python, venv=sandbox.venv_of(args.python), env=env, ro=ro, rw=[(str(run_dir), inside_run)],
        cwd=inside_run,
    )  # fmt: skip
    command = entrypoint_command(python=python, operator_dir=inside_operator, run_dir=inside_run)
    if secrets_file is not None:
        command += ["--secrets-file", "/flowui/secrets.json"]
    return functools.partial(box.popen, command, stdin=subprocess.DEVNULL, stdout=sys.stderr)


def _run_process(start: Any, *, timeout_s: float) -> int:
    """The operator's own prints and logs go to stderr, not mixed with the JSON on stdout. It runs in its
    own process group so a timeout or Ctrl-C also stops what it started."""
    process = start()
    try:
        return process.wait(timeout=timeout_s)
    except BaseException:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        raise


# --- main -------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: exit 2 with the usage, like argparse, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"ERROR {message}\n")


def parser_build() -> argparse.ArgumentParser:
    prog = "flowui-operator" if Path(sys.argv[0]).name == "flowui-operator" else "python -m flowui_runtime.cli"
    parser = _Parser(prog=prog, description="FlowUI tools for operator authors.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="run the registry's checks on an operator or a repository")
    validate.add_argument("path", help="an operator folder, or a repository root holding operators/")
    validate.add_argument("--json", action="store_true", help="print the whole report (with schemas) as JSON")
    validate.add_argument("--no-extract", action="store_true", help="skip importing model.py (files only)")
    validate.add_argument("--timeout", type=float, default=20, help="seconds allowed to import each model.py")
    validate.set_defaults(handler=command_validate)

    run = commands.add_parser("run", help="run one operator locally and print its output as JSON")
    run.add_argument("name", help="operator name (folder under operators/), or a path to an operator folder")
    run.add_argument("--input", required=True, help="JSON file with the input values ('-' reads stdin)")
    run.add_argument("--repo", default=".", help="repository root holding operators/ (default: current folder)")
    run.add_argument("--secrets", default=None, help="JSON file with secret values (else from environment)")
    run.add_argument("--run-dir", default=None, help="new or empty run folder (default: a fresh temp folder)")
    run.add_argument(
        "--storage-root",
        default=None,
        help="tenant storage root for relative paths (default: $FLOWUI_STORAGE_ROOT or current folder)",
    )
    run.add_argument(
        "--python",
        default=sys.executable,
        help="Python to run with, e.g. the dependency group's virtualenv (default: this one)",
    )
    run.add_argument("--timeout", type=float, default=3600, help="seconds before the run is stopped")
    run.add_argument("--sandbox", action="store_true",
                     help="run in the platform's bubblewrap sandbox (as a local task runs; needs bwrap)")  # fmt: skip
    run.set_defaults(handler=command_run)

    parsers_add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser_build().parse_args(argv)
    try:
        return args.handler(args)
    except CliError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
