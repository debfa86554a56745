"""What the scaling proofs share: import checks, free ports, services started and stopped by pid, timings."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIP = f"{Path(sys.executable).parent / 'pip'} install"

# The versions the proofs were run with (docs/scaling.md); newer ones may work too.
TESTED = {
    "prefect-dask": "0.3.7",
    "dask": "2026.8.0",
    "distributed": "2026.8.0",
    "scrapy-redis": "0.9.1",
    "redis": "8.1.0",
    "pyspark": "4.3.0",
    "moto[server]": "5.2.5",
    "s3fs": "2026.9.0",
    "boto3": "1.43.117",
    "rapidfuzz": "3.14.6",
}


def require(modules: Mapping[str, str], binaries: Mapping[str, str] | None = None) -> None:
    """Exit 2 with the exact install lines when a module (import name → pip requirement) or a program is missing."""
    missing = []
    for module, requirement in modules.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(requirement)
    absent = [name for name in (binaries or {}) if shutil.which(name) is None]
    if not missing and not absent:
        return
    if missing:
        pins = " ".join(f'"{name}=={TESTED[name]}"' if name in TESTED else f'"{name}"' for name in missing)
        print(f"missing Python packages: {', '.join(missing)}\n  {PIP} {pins}")
    for name in absent:
        print(f"missing program {name!r}:\n  {(binaries or {})[name]}")
    raise SystemExit(2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(probe: Callable[[], bool], what: str, timeout_s: float = 60) -> float:
    """Poll `probe()` until it is true; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if probe():
                return time.monotonic() - started
        except Exception:  # not up yet
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{what} did not come up within {timeout_s:.0f} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def service(
    command: Sequence[str], log: Path, env: Mapping[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a local service in its own process group and end that group (only it) by its id afterwards."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            list(command), stdout=handle, stderr=subprocess.STDOUT, env=dict(env or os.environ), cwd=cwd,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)


class Timings:
    """Named wall-clock timings, printed at the end of a proof."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] = time.perf_counter() - started

    def show(self) -> None:
        print("timings:")
        for label, seconds in self.seconds.items():
            print(f"  {label:<52} {seconds:7.1f} s")


def say(message: str) -> None:
    print(message, flush=True)


def finish(work: Path, ok: bool, keep: bool, step: str) -> int:
    """The last line: proved or not; the work folder is kept when asked for or when something failed."""
    if ok and not keep:
        shutil.rmtree(work, ignore_errors=True)
        where = "work folder removed (--keep keeps it)"
    else:
        where = f"files in {work}"
    print(f"\n{'PROVED' if ok else 'NOT PROVED'}: {step}; {where}", flush=True)
    return 0 if ok else 1


def check(condition: bool, claim: str) -> bool:
    """Print a proved (or failed) claim; the proof exits 1 if any failed."""
    print(f"  [{'ok' if condition else 'FAILED'}] {claim}", flush=True)
    return condition
