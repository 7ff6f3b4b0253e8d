"""Requests the platform sends to URLs a tenant chose (notification webhooks). Such a URL is hostile: it must
not reach loopback, private, link-local (cloud metadata), CGNAT or other non-public addresses of the
platform's network. The address rule is the repositories' (`registry.sources.address_problem`); the checked
address is the one connected to (no second DNS answer), redirects are not followed, answers are capped.
FLOWUI_NOTIFY_ALLOW_PRIVATE (tests only) lets http:// and loopback/private addresses through.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from registry import sources

_BAD_CHARS_RE = re.compile(r"[\s\x00-\x1f\x7f\\]")
MAX_URL_LENGTH = 2000
ANSWER_MAX_BYTES = 10_000


class UrlRefused(Exception):
    """A URL the platform will not send to; the message names the problem."""


class OutboundError(Exception):
    """The request was sent (or tried) and failed; the message says how. `status`: the HTTP status answered, None
    when there was no answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CheckedUrl:
    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query


def _lookup(host: str, port: int) -> list[str]:
    """The host's addresses, through the repositories' resolver (one place that tests keep off the network)."""
    try:
        infos = sources.address_lookup(host, port)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UrlRefused(f"the host {host!r} cannot be resolved ({getattr(exc, 'strerror', None) or exc})") from None
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise UrlRefused(f"the host {host!r} has no address")
    return addresses


def outbound_url_check(url: str, *, allow_private: bool | None = None) -> CheckedUrl:
    """The rules for a tenant-chosen URL the platform POSTs to. Raises UrlRefused naming the problem."""
    allow = settings.FLOWUI_NOTIFY_ALLOW_PRIVATE if allow_private is None else allow_private
    if not isinstance(url, str) or not url:
        raise UrlRefused("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _BAD_CHARS_RE.search(url):
        raise UrlRefused("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"the URL cannot be parsed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow):
        raise UrlRefused("the URL must start with https://")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UrlRefused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL may not contain a user name or password")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = _lookup(host, port)
    if not allow:
        for address in addresses:
            problem = sources.address_problem(address)
            if problem:
                shown = host if host == address else f"{host} ({address})"
                raise UrlRefused(f"the host {shown} {problem}; webhooks must go to a public host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CheckedUrl(scheme=scheme, host=host, port=port, address=addresses[0], target=target)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, checked: CheckedUrl, timeout: float):
        super().__init__(checked.host, checked.port, timeout=timeout)
        self._address = checked.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, checked: CheckedUrl, timeout: float):
        super().__init__(checked.host, checked.port, timeout=timeout, context=ssl.create_default_context())
        self._address = checked.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> int:
    """POST `payload` as JSON to a checked tenant URL; the HTTP status, or OutboundError / UrlRefused."""
    checked = outbound_url_check(url)
    connection = (_PinnedHTTPS if checked.scheme == "https" else _PinnedHTTP)(checked, timeout)
    body = json.dumps(payload).encode()
    try:
        connection.request(
            "POST",
            checked.target,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": "FlowUI-notifications"},
        )
        response = connection.getresponse()
        response.read(ANSWER_MAX_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise OutboundError(f"the webhook could not be reached ({exc.__class__.__name__}: {exc})") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise OutboundError(f"the webhook answered HTTP {response.status}", status=response.status)
    return response.status
