"""Run untrusted generated code for pass@1: a separate process, a wall-clock timeout, memory and
CPU limits, an empty temporary working folder, and no network.

No network: the process runs in its own network namespace (`unshare --net`, or `--user --net`
where unprivileged user namespaces are allowed), which has no interfaces but loopback-down, so
any connection fails. Where neither is available, a guard installed before the code runs makes
every socket creation raise; the result records which isolation was used.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

GUARD = (
    "import socket as _s\n"
    "def _no_net(*a, **k):\n"
    "    raise OSError('network access is disabled in the t2l-edge sandbox')\n"
    "_s.socket = _no_net; _s.create_connection = _no_net; _s.socketpair = _no_net\n"
)
LIMITS = (
    "import resource as _r\n"
    "_r.setrlimit(_r.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))\n"
    "_r.setrlimit(_r.RLIMIT_FSIZE, (16 * 1024 ** 2, 16 * 1024 ** 2))\n"
    "del _r\n"
)


@dataclass
class RunResult:
    passed: bool
    status: str  # "passed", "failed", "timeout"
    isolation: str
    stderr: str


@functools.lru_cache(maxsize=1)
def _namespace_prefix() -> tuple[tuple[str, ...], str]:
    exe = shutil.which("unshare")
    if exe:
        for flags in (("--net",), ("--user", "--map-root-user", "--net")):
            cmd = (exe, *flags)
            try:
                ok = subprocess.run([*cmd, sys.executable, "-c", "pass"], capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            if ok:
                return cmd, "network namespace (" + " ".join(flags) + ")"
    return (), "socket guard"


def run_python(code: str, timeout: float = 10.0) -> RunResult:
    """Execute `code`; passed means exit status 0 within `timeout` seconds."""
    prefix, isolation = _namespace_prefix()
    program = LIMITS + (GUARD if not prefix else "") + code
    with tempfile.TemporaryDirectory(prefix="t2l-sandbox-") as tmp:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run([*prefix, sys.executable, "-I", "-c", program], cwd=tmp, env=env, capture_output=True,
                                  text=True, timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired as exc:  # subprocess.run kills the child on timeout
            return RunResult(False, "timeout", isolation, (exc.stderr or b"")[-500:].decode("utf-8", "replace")
                             if isinstance(exc.stderr, bytes) else str(exc.stderr or "")[-500:])
    ok = proc.returncode == 0
    return RunResult(ok, "passed" if ok else "failed", isolation, proc.stderr[-500:])
