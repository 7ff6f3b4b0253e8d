"""Which git URLs a repository may be fetched from, checked at creation and again before every fetch.

Platform-wide repositories (created by staff) may use any git transport, local paths included, except the
registry's own cache clones. A tenant's repository may only use `https://` (or `http://` to a host listed in
FLOWUI_GIT_ALLOWED_HOSTS) to a host whose every address is public: loopback, private, link-local (cloud
metadata), CGNAT, unspecified, multicast and reserved addresses are refused unless the host is allow-listed.
The addresses checked are handed to git (`http.curloptResolve`), so DNS cannot answer differently for the
fetch than for the check.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from flowui.lib import git

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_BAD_CHARS_RE = re.compile(r"[\s\x00-\x1f\x7f\\]")


class SourceRefused(git.GitError):
    """A repository URL that may not be fetched; the message names the problem."""


@dataclass(frozen=True)
class CheckedSource:
    url: str
    protocols: tuple[str, ...]
    resolve: tuple[str, ...]


def allowed_hosts() -> set[str]:
    return {entry.strip().lower() for entry in settings.FLOWUI_GIT_ALLOWED_HOSTS if entry.strip()}


def address_problem(address: str) -> str | None:
    """Why a tenant's repository may not be fetched from this IP address (None when it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local (cloud metadata)", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("carrier-grade NAT (100.64.0.0/10)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    for label, hit in checks:
        if hit:
            if label.startswith("not"):
                return f"is {label}"
            return f"is {'an' if label[0] in 'aeiou' else 'a'} {label} address"
    return None


def address_lookup(host: str, port: int) -> list:
    """getaddrinfo (the tests replace this so that no name lookup leaves the machine)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _resolve(host: str, port: int) -> list[str]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return [str(literal)]
    try:
        infos = address_lookup(host, port)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise SourceRefused(f"the host {host!r} cannot be resolved ({getattr(exc, 'strerror', None) or exc})")
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise SourceRefused(f"the host {host!r} has no address")
    return addresses


def tenant_source_check(url: str) -> CheckedSource:
    """The rules for a tenant's repository URL. Raises SourceRefused naming the problem."""
    if re.match(r"^\s*ext::", url, re.IGNORECASE):
        raise SourceRefused("the ext:: transport runs commands and is never allowed")
    if _BAD_CHARS_RE.search(url):
        raise SourceRefused("the URL contains spaces, control characters or backslashes")
    if "://" not in url:
        raise SourceRefused(
            "a tenant repository needs an https:// URL (local paths, git@host:path and other transports are "
            "for platform-wide repositories only)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SourceRefused(f"the URL cannot be parsed ({exc})")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise SourceRefused(
            f"{scheme}:// URLs are for platform-wide repositories only; a tenant repository needs https://"
        )
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise SourceRefused("the URL names no host")
    if parts.fragment or "#" in url:
        raise SourceRefused("the URL may not contain '#'")
    if parts.username is not None or parts.password is not None:
        raise SourceRefused("do not put credentials in the URL; use the access token field")
    port = port or (443 if scheme == "https" else 80)
    allowed = allowed_hosts()
    listed = host in allowed or f"{host}:{port}" in allowed
    if scheme == "http" and not listed:
        raise SourceRefused(
            f"http:// is only allowed to hosts in FLOWUI_GIT_ALLOWED_HOSTS ({host}:{port} is not); use https://"
        )
    addresses = _resolve(host, port)
    if not listed:
        for address in addresses:
            problem = address_problem(address)
            if problem:
                shown = host if host == address else f"{host} ({address})"
                raise SourceRefused(f"the host {shown} {problem}; tenant repositories must be on a public host")
    try:
        ipaddress.ip_address(host)
        resolve: tuple[str, ...] = ()  # an IP literal needs no pinning
    except ValueError:
        address = addresses[0]
        pinned = f"[{address}]" if ":" in address else address
        resolve = (f"{host}:{port}:{pinned}",)
    protocols = ("https", "http") if listed else ("https",)
    return CheckedSource(url=url, protocols=protocols, resolve=resolve)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def platform_source_check(url: str) -> None:
    """Platform-wide repositories (staff): any transport, but never the registry's own cache clones (a local
    path is resolved the way git would follow it, /proc/self/cwd and symlinks included)."""
    if url.startswith("file://") or url.startswith("/"):
        raw = url.removeprefix("file://")
        try:
            resolved = Path(os.path.realpath(raw))
            cache = Path(os.path.realpath(settings.FLOWUI_GIT_CACHE_DIR))
        except (OSError, ValueError) as exc:
            raise SourceRefused(f"the path cannot be resolved ({exc})")
        if _inside(resolved, cache):
            raise SourceRefused("the path is inside the registry's git cache (another repository's clone)")
    if re.match(r"^\s*ext::", url, re.IGNORECASE):
        raise SourceRefused("the ext:: transport runs commands and is never allowed")


def source_check(*, url: str, tenant_id) -> CheckedSource | None:
    """The check for a repository of this scope (tenant_id None: platform-wide)."""
    if tenant_id is None:
        platform_source_check(url)
        return None
    return tenant_source_check(url)


def source_validation_error(exc: SourceRefused) -> ValidationError:
    return ValidationError({"url": f"This URL is not allowed: {exc}."})
