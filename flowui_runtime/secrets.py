"""Tenant secrets for local-mode tasks: one platform-only JSON file per tenant, read inside the Airflow task.

The platform (tenants.services_secrets) writes `FLOWUI_SECRETS_DIR/<tenant schema>.json` (a JSON object of
name -> value; file mode 0600, folder 0700, replaced atomically) whenever a secret of the tenant is set or
deleted, and rebuilds it at provisioning and `flowui_bootstrap`. The folder is outside every tenant's storage
root; Airflow's worker gets its path in FLOWUI_SECRETS_DIR. A task reads only its own tenant's file (the
tenant comes from the DAG spec the platform wrote, never from tenant input) and keeps only the names its
operator declares. Nothing is read from the worker's environment or from Airflow Variables.

`mask()` hides secret values in the lines the runtime writes (task log, the run folder's log.txt);
`airflow_mask()` registers them with Airflow's own secrets masker as a second line of defence.

Imports nothing from Django or Airflow (Airflow only inside airflow_mask()).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from flowui_runtime.safefs import atomic_write

SECRETS_DIR_ENV = "FLOWUI_SECRETS_DIR"
# PostgreSQL schema names as tenants.services accepts them (lower-case, no dots, no slashes).
TENANT_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MASK = "***"
# Lines of a multi-line secret shorter than this are not masked on their own (they would hide `}` etc.).
_MIN_PART_CHARS = 5


class SecretsError(Exception):
    """The tenant's secrets cannot be read (no secrets folder configured, invalid tenant, unreadable file)."""


def tenant_secrets_file(directory: str | Path, tenant: str) -> Path:
    """`<directory>/<tenant>.json`; the tenant must be a schema name, so the path cannot leave `directory`."""
    if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
        raise SecretsError(f"invalid tenant {tenant!r}: secrets are kept per tenant schema name")
    return Path(directory) / f"{tenant}.json"


def tenant_secret_values(tenant: str, names: list[str], *, directory: str | Path | None = None) -> dict[str, str]:
    """The values of the declared `names` among the tenant's secrets (names it has no value for are left out).

    Reads only `FLOWUI_SECRETS_DIR/<tenant>.json` (or `directory`), and nothing at all when `names` is empty."""
    names = list(dict.fromkeys(names or []))
    if not names:
        return {}
    directory = directory if directory is not None else os.environ.get(SECRETS_DIR_ENV, "")
    if not directory:
        raise SecretsError(
            f"this operator declares secrets ({', '.join(names)}) but {SECRETS_DIR_ENV} is not set in Airflow's "
            "environment: the platform's tenant secrets folder is needed"
        )
    path = tenant_secrets_file(directory, tenant)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}  # the tenant has no secret yet
    except OSError as exc:
        raise SecretsError(f"cannot read the secrets of tenant {tenant!r}: {exc.strerror or exc}") from None
    with os.fdopen(fd, encoding="utf-8") as stream:
        try:
            stored = json.load(stream)
        except ValueError:
            raise SecretsError(f"the secrets file of tenant {tenant!r} is not valid JSON") from None
    if not isinstance(stored, dict):
        raise SecretsError(f"the secrets file of tenant {tenant!r} must hold a JSON object")
    return {name: str(stored[name]) for name in names if isinstance(stored.get(name), str)}


def write_tenant_secrets(directory: str | Path, tenant: str, values: dict[str, str]) -> Path:
    """Replace the tenant's secrets file atomically (temporary file in the same folder + os.replace): mode
    0600 in a folder of mode 0700. Used by the platform; an empty dict writes `{}`."""
    path = tenant_secrets_file(directory, tenant)
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    atomic_write(path, json.dumps(dict(sorted(values.items()))), mode=0o600)
    return path


def remove_tenant_secrets(directory: str | Path, tenant: str) -> bool:
    path = tenant_secrets_file(directory, tenant)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _mask_patterns(values: list[str] | dict[str, str]) -> list[str]:
    items = values.values() if isinstance(values, dict) else values
    patterns: set[str] = set()
    for value in items:
        if not value:
            continue
        patterns.add(value)
        if "\n" in value:  # a multi-line value arrives one line at a time
            patterns.update(part for part in value.splitlines() if len(part.strip()) >= _MIN_PART_CHARS)
    return sorted(patterns, key=len, reverse=True)  # longest first: a value containing another is hidden whole


def mask(line: str, values: list[str] | dict[str, str]) -> str:
    """`line` with every occurrence of each secret value replaced by `***` (any length: a short value is
    still hidden, at the price of some unrelated characters)."""
    for pattern in _mask_patterns(values):
        if pattern in line:
            line = line.replace(pattern, MASK)
    return line


def airflow_mask(values: list[str] | dict[str, str]) -> None:
    """Register the values with Airflow's secrets masker (task process and supervisor). Airflow itself skips
    values shorter than its `[logging] min_length_masked_secret` (5); mask() covers the runtime's own lines."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # not inside Airflow (authoring CLI, tests of the runtime alone)
        return
    for pattern in _mask_patterns(values):
        mask_secret(pattern)  # no name: with a name, Airflow masks only "sensitive-looking" names
