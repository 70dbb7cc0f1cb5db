"""Tiny world for the server tests: a tiny llama base, a tiny bundle made for it, a folder of
adapter files (one good, one broken), and a live uvicorn server on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from pathlib import Path

from t2l_edge.core.basemodel import read_base_spec
from t2l_edge.formats.gguf_adapter import write_gguf
from tests.helpers.make_tiny_bundle import PERTURB as STORED_PERTURB
from tests.helpers.tiny_models import STORED_BUNDLE
from tests.helpers.tinyllama import TinyLlama, random_adapter


def tiny_world(d: Path, perturb: float = 0.5) -> dict:
    """Base GGUF, bundle whose manifest names that base, and an --adapters-dir. A large head
    perturbation makes different descriptions give visibly different greedy answers."""
    d.mkdir(parents=True, exist_ok=True)
    base = TinyLlama().write(d / "tiny.gguf")
    spec = read_base_spec(base)
    if perturb == STORED_PERTURB:  # the committed bundle is exactly this one: no torch needed
        bundle = Path(shutil.copytree(STORED_BUNDLE, d / "bundle"))
    else:
        from tests.helpers.tiny_models import tiny_bundle, tiny_encoder

        bundle, _, _ = tiny_bundle(d / "bundle", "M", encoder=tiny_encoder(d / "enc"), perturb=perturb)
    man = json.loads((bundle / "manifest.json").read_text())
    man["base"] = spec.to_dict()  # the tiny bundle names a fake base; point it at this one
    (bundle / "manifest.json").write_text(json.dumps(man))
    adapters = d / "adapters"
    adapters.mkdir()
    write_gguf(random_adapter(spec, seed=3, b_scale=1.0, description="greet people"), adapters / "greet.gguf", dtype="f32")
    (adapters / "broken.gguf").write_bytes(b"GGUF" + b"\0" * 40)
    (d / "secret.gguf").write_bytes((adapters / "greet.gguf").read_bytes())  # outside the folder
    (adapters / "escape.gguf").symlink_to(d / "secret.gguf")
    return {"dir": d, "base": base, "bundle": bundle, "adapters": adapters, "spec": spec}


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def live_server(app):
    """Run `app` under uvicorn in a thread; yields the base URL."""
    import uvicorn

    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextlib.contextmanager
def tiny_server(world: dict, **kw):
    """Engine (1 thread) + Generator on the tiny world, served live; yields (url, app)."""
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator
    from t2l_edge.server import build_app

    gen = Generator.load(world["bundle"], threads=1)
    with Engine(world["base"], n_ctx=kw.pop("n_ctx", 256), n_threads=1) as engine:
        app = build_app(engine, gen, kw.pop("adapters_dir", world["adapters"]), **kw)
        with live_server(app) as url:
            yield url, app


@contextlib.contextmanager
def serve_process(world: dict, *extra: str, timeout: float = 120.0):
    """`t2l-edge serve` in a fresh process on the tiny world (port 0: the OS picks one).
    Yields (url, proc); on exit sends Ctrl-C (SIGINT) and waits for a clean stop."""
    import os
    import signal
    import subprocess
    import sys

    argv = [sys.executable, "-m", "t2l_edge.cli", "serve", "--base", str(world["base"]), "--bundle", str(world["bundle"]),
            "--adapters-dir", str(world["adapters"]), "--port", "0", "--threads", "1", "--ctx", "256", *extra]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = None
    try:
        line = proc.stdout.readline()  # the first line names the URL once the port is bound
        if "http://" not in line:
            proc.kill()
            raise RuntimeError(f"serve did not start: {line!r} {proc.stderr.read()[-2000:]}")
        url = line.split("http://", 1)[1].split("/", 1)[0]
        url = "http://" + url
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
