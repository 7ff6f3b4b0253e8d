"""flowui_runtime.runtime_path: a child interpreter (an operator's venv, unsandboxed) gets the runtime package on
its PYTHONPATH and nothing else of ours, wherever the runtime was imported from; the private folder it may make
in the shared temp folder cannot be planted by someone else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowui_runtime import runtime_path

REPO = Path(__file__).resolve().parent.parent
PROBE = (
    "import importlib.util, flowui_runtime\n"
    "print(flowui_runtime.__file__)\n"
    "print(sorted(m for m in ('flowui', 'tenants', 'registry', 'workflows', 'django') if importlib.util.find_spec(m)))\n"
)


def child(pythonpath: str, cwd: Path, code: str = PROBE) -> list[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath}
    python = os.path.realpath(sys.executable)  # the base interpreter: no venv site-packages (no Django)
    result = subprocess.run([python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_it_gives_a_child_the_runtime_but_not_the_platform_checkout(tmp_path):
    folder = runtime_path.runtime_pythonpath()  # imported from the checkout's root here: a private folder
    assert Path(folder) != REPO and sorted(os.listdir(folder)) == ["flowui_runtime"]
    assert os.stat(folder).st_mode & 0o777 == 0o700
    imported, platform = child(folder, tmp_path)
    assert Path(imported).resolve() == REPO / "flowui_runtime" / "__init__.py"
    assert platform == "[]"  # neither the Django apps nor Django itself
    assert runtime_path.runtime_pythonpath() == folder  # stable: one folder per runtime location


def test_it_uses_the_install_folder_only_when_the_runtime_is_alone_there(tmp_path):
    alone = tmp_path / "site"
    alone.mkdir()
    (alone / "flowui_runtime").symlink_to(REPO / "flowui_runtime")
    (alone / "flowui_runtime-0.1.0.dist-info").mkdir()
    code = "from flowui_runtime.runtime_path import runtime_pythonpath; print(runtime_pythonpath())"
    assert child(str(alone), tmp_path, code) == [str(alone)]
    (alone / "pydantic.py").write_text("raise SystemExit('a package of the installing interpreter')\n")
    private = child(str(alone), tmp_path, code)[0]
    assert private != str(alone) and sorted(os.listdir(private)) == ["flowui_runtime"]


def test_it_refuses_a_private_folder_planted_by_someone_else(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime_path.tempfile, "gettempdir", lambda: str(tmp_path))
    expected = tmp_path / f"flowui-runtime-{os.getuid()}-"
    planted = Path(runtime_path.runtime_pythonpath())
    assert planted.name.startswith(expected.name)
    evil = tmp_path / "evil"
    (evil / "flowui_runtime").mkdir(parents=True)
    # A link swapped to another package is put back.
    (planted / "flowui_runtime").unlink()
    (planted / "flowui_runtime").symlink_to(evil / "flowui_runtime")
    assert runtime_path.runtime_pythonpath() == str(planted)
    assert os.readlink(planted / "flowui_runtime") == str(runtime_path.RUNTIME_PACKAGE_DIR)
    # A folder others may write into, or a symlink instead of the folder, is refused.
    planted.chmod(0o777)
    with pytest.raises(runtime_path.RuntimePathError, match="not a private folder"):
        runtime_path.runtime_pythonpath()
    planted.chmod(0o700)
    (planted / "flowui_runtime").unlink()
    planted.rmdir()
    planted.symlink_to(evil)
    with pytest.raises(runtime_path.RuntimePathError, match="not a private folder"):
        runtime_path.runtime_pythonpath()
