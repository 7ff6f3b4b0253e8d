"""Strict configuration: environment first, then config.ini, then defaults.

Every setting is read through one of the helpers below. A missing or invalid value raises
`ImproperlyConfigured` with one line naming the key and what is expected. A secret can be
given as NAME_FILE, the path of a file holding the value (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
_MISSING = object()


def _config_ini() -> dict[str, str]:
    path = Path(os.environ.get("FLOWUI_CONFIG_INI", BASE_DIR / "config.ini"))
    if not path.exists():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep the design's UPPER_CASE names
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ImproperlyConfigured(f"{path}: cannot be parsed ({exc.__class__.__name__})") from None
    values: dict[str, str] = {}
    for section in parser.sections():
        values.update(parser.items(section))
    return values


_INI = _config_ini()


def raw(key: str, default: object = _MISSING) -> str | None:
    """The value of `key` from the environment, a NAME_FILE file, config.ini, or `default`."""
    if key in os.environ:
        return os.environ[key]
    file_key = f"{key}_FILE"
    if file_key in os.environ:
        path = Path(os.environ[file_key])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_key}: cannot read {path} ({exc.strerror})") from None
    if key in _INI:
        return _INI[key]
    if default is _MISSING:
        raise ImproperlyConfigured(f"{key}: missing; set it in the environment or config.ini")
    return default  # type: ignore[return-value]


def env_str(key: str, default: object = _MISSING) -> str:
    value = raw(key, default)
    return "" if value is None else str(value)


def env_int(key: str, default: object = _MISSING) -> int:
    value = raw(key, default)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{key}: expected an integer, got {value!r}") from None


def env_bool(key: str, default: object = _MISSING) -> bool:
    value = raw(key, default)
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{key}: expected true or false, got {value!r}")


def env_choice(key: str, choices: tuple[str, ...], default: object = _MISSING) -> str:
    value = env_str(key, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(key: str, default: object = _MISSING) -> list[str]:
    value = env_str(key, default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(key: str, default: object = _MISSING) -> Path:
    value = env_str(key, default)
    if not value:
        raise ImproperlyConfigured(f"{key}: expected a path, got an empty value")
    path = Path(value)
    return path if path.is_absolute() else (BASE_DIR / path).resolve()
