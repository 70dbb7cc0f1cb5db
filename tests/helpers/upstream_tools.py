"""Upstream llama.cpp programs (built by scripts/build_llama_tools.sh) for the slow tests.

The programs run only as subprocesses: a crash in C (or a hang) must never take the test
process down. `README_COMMANDS` holds the exact command lines the README's "Use it with"
section shows; the tests run these same argv lists (plus TEST_FLAGS), and a fast test checks
that every one of them appears verbatim in the README.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from t2l_edge.core.paths import cache_root

VERSION = "0.3.36"  # the llama-cpp-python sdist whose vendored llama.cpp the tools are built from
ENV_VAR = "T2L_EDGE_LLAMA_TOOLS"  # override: a folder holding bin/ and llama.cpp/
REPO = Path(__file__).resolve().parent.parent

# One thread (this machine has 2 cores and the tests share them) and the Engine's context size.
# Only the tests add these; the README commands leave threads to llama.cpp.
TEST_FLAGS = ["-t", "1", "-tb", "1", "-c", "2048"]

# Placeholders: {base} the model GGUF, {adapter} a make-adapter GGUF, {port}, {prompt}, {merged}.
README_COMMANDS = {
    "server": 'llama-server -m {base} --lora {adapter} --port {port}',
    "server_hotswap": 'llama-server -m {base} --lora {adapter} --lora-init-without-apply --port {port}',
    "list": 'curl -s http://127.0.0.1:{port}/lora-adapters',
    "chat": ("curl -s http://127.0.0.1:{port}/v1/chat/completions -H 'Content-Type: application/json' "
             "-d '{{\"messages\": [{{\"role\": \"user\", \"content\": \"{prompt}\"}}], \"max_tokens\": {n}, "
             "\"temperature\": 0, \"lora\": [{{\"id\": 0, \"scale\": {scale}}}]}}'"),
    "ask": ("curl -s http://127.0.0.1:{port}/v1/chat/completions -H 'Content-Type: application/json' "
            "-d '{{\"messages\": [{{\"role\": \"user\", \"content\": \"{prompt}\"}}], \"max_tokens\": {n}, "
            "\"temperature\": 0, \"cache_prompt\": false}}'"),
    "apply": ("curl -s -X POST http://127.0.0.1:{port}/lora-adapters -H 'Content-Type: application/json' "
              "-d '[{{\"id\": 0, \"scale\": {scale}}}]'"),
    "cli": 'llama-cli -m {base} --lora {adapter} -p "{prompt}" -n {n} --temp 0 -st --simple-io -o {out}',
    "export": 'llama-export-lora -m {base} --lora {adapter} -o {merged}',
    "quantize": 'llama-quantize --allow-requantize {merged} {quantized} {qtype}',
}
# What the README shows for each placeholder (tests substitute real paths and a free port).
README_VALUES = {
    "base": "SmolLM2-135M-Instruct.Q4_1.gguf", "adapter": "sci.gguf", "port": "8080", "out": "answer.txt",
    "merged": "smollm2-sci.gguf", "quantized": "smollm2-sci-q8_0.gguf", "qtype": "Q8_0", "n": "64", "scale": "1.0",
    "prompt": "Which gas do plants take in from the air to make food? Options: oxygen | carbon dioxide | nitrogen | helium",
}


def readme_command(name: str, **overrides) -> str:
    return README_COMMANDS[name].format(**{**README_VALUES, **overrides})


def argv(name: str, bin_dir: Path, **values) -> list[str]:
    """The README command `name` with real values, the program resolved in `bin_dir`."""
    vals = {**README_VALUES, **{k: str(v) for k, v in values.items()}}
    # split first, then fill each argument: a value with spaces stays one argument
    args = [a.format(**vals) for a in shlex.split(README_COMMANDS[name])]
    if args[0].startswith("llama-"):
        args[0] = str(bin_dir / args[0])
    return args


def tools_dir() -> Path:
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else cache_root() / f"llama-tools-{VERSION}"


def bin_dir() -> Path:
    return tools_dir() / "bin"


def missing_reason(*names: str) -> str | None:
    """Why the tests cannot run, or None when every program (and the converter) is there."""
    for name in names:
        path = tools_dir() / "llama.cpp" / name if name.endswith(".py") else bin_dir() / name
        if not (path.is_file() and (name.endswith(".py") or os.access(path, os.X_OK))):
            return f"{path} not found: run scripts/build_llama_tools.sh (or point {ENV_VAR} at a tools folder)"
    return None


def run_env() -> dict[str, str]:
    # libgomp spin-waits at barriers unless told not to; on a shared 2-core box that is ~30x slower.
    return {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1", "LLAMA_ARG_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    """A program to completion in its own session; killed (never left behind) on a hang."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kw.pop("env", run_env()),
                         start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError(f"{Path(args[0]).name} hung for {timeout} s; stderr tail: {err[-2000:]}")
    return subprocess.CompletedProcess(args, p.returncode, out, err)


def http(method: str, url: str, body=None, timeout: float = 600):
    """(status, parsed JSON or text) of one request to a local server."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read().decode("utf-8", "replace")
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw


@dataclass
class ServerExit:
    """How a server start ended when it never became ready."""

    returncode: int
    log: str


class Server:
    """llama-server in its own process group, on a free local port; always stopped on exit."""

    def __init__(self, args: list[str], port: int, log_path: Path):
        self.args, self.port, self.log_path = args, port, log_path
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, ready_timeout: float = 300) -> ServerExit | None:
        """None once /health says ready; a ServerExit if the process ended first."""
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, env=run_env(),
                                     start_new_session=True)
        deadline = time.monotonic() + ready_timeout  # a hang guard, not a speed assertion
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                return ServerExit(rc, self.log())
            try:
                status, _ = http("GET", self.url + "/health", timeout=5)
                if status == 200:
                    return None
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"llama-server not ready after {ready_timeout} s; log tail: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> "Server":
        exit_ = self.start()
        if exit_ is not None:
            self.stop()
            raise AssertionError(f"llama-server exited with {exit_.returncode}; log tail: {exit_.log[-2000:]}")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def converter_env() -> dict[str, str]:
    """Environment for the vendored convert_lora_to_gguf.py: its own gguf-py first on the path,
    so the project's pinned gguf==0.19.0 in the venv is not what it imports (only in that
    subprocess; the test process keeps the pinned one)."""
    src = tools_dir() / "llama.cpp"
    env = {**run_env(), "PYTHONPATH": str(src / "gguf-py"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("NO_LOCAL_GGUF", None)  # the script itself also puts its gguf-py first unless this is set
    return env
