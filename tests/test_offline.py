"""Nothing leaves the machine: a real index run, watched with strace, makes no network call.

onnxruntime's 1DS telemetry resolves Microsoft's collector about 9 s after an InferenceSession
starts, unless ORT_DISABLE_TELEMETRY=1 was set before it was imported (core/offline.py does that).
The index test therefore runs for at least 20 s and fails when it did not.

Where the test may make a network namespace (`unshare --net`: root, or unprivileged user
namespaces), the traced process runs in one: a regression is then still seen by strace (the call is
logged, it just fails with ENETUNREACH) but nothing actually goes out.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, required_tool

TRACED_CALLS = "connect,sendto,sendmsg,sendmmsg"
MIN_SECONDS = 20.0  # onnxruntime's telemetry fires ~9 s after a session starts: leave it time to
DEMO_COPIES = 3  # 35 demo files per copy; 3 copies index in 29-37 s on the 2-core dev machine

_CALL = re.compile(r"\b(connect|sendto|sendmsg|sendmmsg)\(")
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\),.*?inet_pton\(AF_INET6, "([^"]+)"')
_ANY_INET = re.compile(r"sa_family=AF_INET6?\b")


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def network_traffic(strace_log: str) -> list[str]:
    """The strace lines that show traffic leaving the process for the network, or any DNS.

    Flagged: a connect/sendto/sendmsg/sendmmsg whose address is AF_INET/AF_INET6 and either not
    loopback or port 53 (DNS, even a loopback resolver). AF_UNIX, AF_NETLINK and loopback on other
    ports are fine. A send without an address goes over a connected socket, whose connect() was
    already judged. An AF_INET address this parser cannot read is flagged, not ignored. A call is
    flagged whether or not it succeeded: an attempt is the defect.
    """
    flagged = []
    for line in strace_log.splitlines():
        if not _CALL.search(line) or not _ANY_INET.search(line):
            continue
        endpoints = [(int(port), address) for port, address in _INET.findall(line) + _INET6.findall(line)]
        if len(endpoints) < len(_ANY_INET.findall(line)):
            flagged.append(f"{line}  [unparsed address]")
        elif any(port == 53 or not _is_loopback(address) for port, address in endpoints):
            flagged.append(line)
    return flagged


@pytest.fixture(scope="session")
def strace() -> str:
    return required_tool("strace")


@functools.cache
def _contain() -> tuple[str, ...]:
    """A prefix that runs a command in an empty network namespace, or () where none can be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    for prefix in ((unshare, "--net"), (unshare, "--net", "--map-root-user")):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return ()


def _traced(strace: str, log: Path, command: list[str], env: dict[str, str], timeout: float):
    return subprocess.run(
        [*_contain(), strace, "-f", "-e", f"trace={TRACED_CALLS}", "-o", str(log), *command],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )


def _hostile_env() -> dict[str, str]:
    """The test's environment with the offline switches turned the wrong way, as a user might have
    them; pytest itself has imported core, so without this the child would inherit the fix."""
    env = dict(os.environ)
    env.update(ORT_DISABLE_TELEMETRY="0", HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="0")
    env.pop("DO_NOT_TRACK", None)
    return env


# -- the parser -------------------------------------------------------------------------------

def test_parser_flags_dns_to_a_private_resolver():
    line = '3799  connect(12, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0'
    assert network_traffic(line) == [line]


def test_parser_lets_unix_sockets_and_loopback_through():
    log = "\n".join([
        '3798  connect(12, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file)',
        '3801  connect(5, {sa_family=AF_INET, sin_port=htons(5000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '3801  sendto(4, "z", 1, 0, {sa_family=AF_INET6, sin6_port=htons(5001), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 1',
        '3798  sendto(13, "\\240\\1\\0\\0", 50, MSG_NOSIGNAL, NULL, 0) = 50',
        "3799  +++ exited with 0 +++",
    ])
    assert network_traffic(log) == []


def test_parser_flags_ipv6_public_loopback_dns_and_unreadable_addresses():
    public6 = ('1  connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
               'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH')
    mapped = ('1  connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), '
              'inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6_addr), sin6_scope_id=0}, 28) = 0')
    resolver = ('1  sendmsg(3, {msg_name={sa_family=AF_INET, sin_port=htons(53), '
                'sin_addr=inet_addr("127.0.0.53")}, msg_namelen=16, msg_iov=[], msg_iovlen=0}, 0) = 1')
    odd = '1  connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=something_new}, 16) = 0'
    assert network_traffic("\n".join([public6, mapped, resolver])) == [public6, mapped, resolver]
    assert network_traffic(odd) == [f"{odd}  [unparsed address]"]


def test_detector_sees_a_real_dns_datagram(strace, tmp_path):
    """The whole detector, on a process that does send: one UDP datagram to 127.0.0.1:53."""
    log = tmp_path / "strace.log"
    sender = ("import socket\n"
              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "try:\n    s.sendto(b'probe', ('127.0.0.1', 53))\n"
              "except OSError:\n    pass  # in an empty network namespace: unreachable, still traced\n")
    result = _traced(strace, log, [sys.executable, "-c", sender], dict(os.environ), timeout=60)
    assert result.returncode == 0, result.stderr
    flagged = network_traffic(log.read_text())
    assert len(flagged) == 1 and "htons(53)" in flagged[0] and "127.0.0.1" in flagged[0], log.read_text()


# -- the switches -----------------------------------------------------------------------------

def test_import_core_forces_the_switches_even_against_the_user():
    code = ("import os, core, onnxruntime\n"
            "from core import offline\n"
            "print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['HF_HUB_OFFLINE'],"
            " os.environ['HF_HUB_DISABLE_TELEMETRY'], os.environ['DO_NOT_TRACK'],"
            " offline.onnxruntime_imported_too_early())\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_hostile_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "1", "1", "False"]


def test_onnxruntime_imported_before_core_is_reported():
    code = "import onnxruntime, core.offline\nprint(core.offline.onnxruntime_imported_too_early())\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_hostile_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]


# -- the real thing ---------------------------------------------------------------------------

@pytest.mark.slow
def test_index_run_makes_no_network_call(strace, tmp_path):
    """`main.py index` over a library big enough to run >= 20 s: no DNS, nothing off loopback."""
    copies = DEMO_COPIES
    for attempt in range(3):
        library = tmp_path / f"library-{attempt}"
        for number in range(copies):
            shutil.copytree(DEMO, library / f"copy-{number}")
        log = tmp_path / f"strace-{attempt}.log"
        command = [sys.executable, str(REPO / "main.py"), "--db", str(tmp_path / f"lib-{attempt}.db"),
                   "index", str(library)]
        started = time.monotonic()
        result = _traced(strace, log, command, _hostile_env(), timeout=600)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stdout + result.stderr
        embedded = re.search(r"embedded (\d+) items", result.stdout)
        assert embedded and int(embedded[1]) > 0, result.stdout
        flagged = network_traffic(log.read_text())
        assert not flagged, (f"the index run ({elapsed:.1f} s) talked to the network:\n" + "\n".join(flagged))
        if elapsed >= MIN_SECONDS:
            return
        # A faster machine: the run ended before the telemetry would have fired. Grow the library.
        tried, copies = copies, math.ceil(copies * 1.3 * MIN_SECONDS / elapsed)
    pytest.fail(f"the index run lasted only {elapsed:.1f} s (< {MIN_SECONDS:.0f} s, {tried} demo copies "
                "on the last try), too short to catch onnxruntime's delayed telemetry: raise DEMO_COPIES")
