"""The declared network of a sandbox (`Sandbox(network=True)`): slirp4netns gives the sandbox's own network
namespace user-mode outbound access with the host's loopback disabled, then prohibit routes, set from outside
the namespace before the command starts (tenant code has no capability to change them), refuse loopback,
private, CGNAT, link-local (cloud metadata), multicast and reserved ranges and every address of this host.
Imports nothing from Django or Airflow."""

from __future__ import annotations

import ipaddress
import json
import os
import select
import subprocess
import time

# Refused inside a networked sandbox (the slirp4netns subnet 10.0.2.0/24 stays reachable: its more specific
# route wins; its gateway does not lead to the host's loopback because of --disable-host-loopback).
BLOCKED_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
)  # fmt: skip
SLIRP_DNS = "10.0.2.3"
SLIRP_DNS = "10.0.2.3"
_NETWORK_SETUP_TIMEOUT_S = 10.0


class NetworkSetupError(Exception):
    """The sandbox's network could not be brought up and filtered (the sandbox is killed)."""


def host_addresses() -> list[str]:
    """Every address of this host's interfaces (the sandbox must not reach services bound to them)."""
    try:
        out = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, timeout=5, check=True).stdout
        interfaces = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    return [a["local"] for i in interfaces for a in i.get("addr_info", []) if a.get("family") == "inet"]


def blocked_routes() -> list[str]:
    networks = list(BLOCKED_V4)
    for address in host_addresses():
        ip = ipaddress.ip_address(address)
        if not any(ip in ipaddress.ip_network(n) for n in BLOCKED_V4):
            networks.append(f"{address}/32")
    return networks


def _wait_own_netns(pid: int) -> None:
    """Until `unshare --net` (pid) has left the host's network namespace: only then may slirp4netns attach."""
    own = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + _NETWORK_SETUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != own:
                return
        except OSError:
            raise NetworkSetupError("the sandbox exited before its network was set up") from None
        time.sleep(0.002)
    raise NetworkSetupError("the sandbox did not get its own network namespace in time")


def network_up(pid: int, block_w: int) -> subprocess.Popen:
    """Give the sandbox's network namespace user-mode outbound access, filter it, then let the command run."""
    try:
        _wait_own_netns(pid)
        ready_r, ready_w = os.pipe()
        try:
            slirp = subprocess.Popen(
                ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
                 "--ready-fd", str(ready_w), str(pid), "tap0"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                pass_fds=[ready_w], start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(ready_w)
        try:
            ready, _, _ = select.select([ready_r], [], [], _NETWORK_SETUP_TIMEOUT_S)
            if not ready or not os.read(ready_r, 1):
                raise NetworkSetupError("slirp4netns did not bring the sandbox's network up")
        finally:
            os.close(ready_r)
        batch = "".join(f"route add prohibit {network}\n" for network in blocked_routes())
        completed = subprocess.run(
            ["nsenter", "--target", str(pid), "--net", "ip", "-batch", "-"],
            input=batch, capture_output=True, text=True, timeout=_NETWORK_SETUP_TIMEOUT_S, check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            slirp.kill()
            raise NetworkSetupError(f"cannot filter the sandbox's network: {completed.stderr.strip()}")
        os.write(block_w, b"1")  # the command may start now
        return slirp
    finally:
        os.close(block_w)
