"""`peergroups serve`: run the pipeline on a schedule with Prefect.

Schedules need a real Prefect server: the temporary one each command starts cannot schedule ("Cannot schedule
flows on an ephemeral server"). Where `PREFECT_API_URL` is not set, `serve` starts `prefect server start` on a free
loopback port, waits until it answers its health check, serves, and stops it on exit. Each distinct cadence (the
`--cron` default, or a source's own `cron` in the registry) becomes one deployment of `scheduled_run_flow`, with a
concurrency limit of one so its runs never overlap; runs of different cadences take turns at the warehouse's
write lock (`SCHEDULED_WAIT_S`).

This module must be imported before Prefect (it sets `PREFECT_API_URL` for the started server).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.registry import Source

SERVER_START_TIMEOUT_S = 120


class ServeError(RuntimeError):
    """The Prefect server could not be started; the message says why and where its log is."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # loopback only
            return response.status == 200
    except OSError:
        return False


@contextmanager
def prefect_server(log_path: Path) -> Iterator[str]:
    """The Prefect API to schedule on: `PREFECT_API_URL` when set, else a local server started (and stopped) here."""
    existing = os.environ.get("PREFECT_API_URL")
    if existing:
        yield existing
        return
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"},
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _healthy(api_url):
            if server.poll() is not None:
                raise ServeError(f"the Prefect server exited with code {server.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise ServeError(f"the Prefect server did not answer within {SERVER_START_TIMEOUT_S} s; see {log_path}")
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = api_url
        yield api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cadences(sources: list[Source], default_cron: str | None) -> dict[str, list[str]]:
    """cron expression → the sources crawled on it. A source's own `cron` wins over the default."""
    by_cron: dict[str, list[str]] = defaultdict(list)
    for source in sources:
        cron = source.cron or default_cron
        if cron:
            by_cron[cron].append(source.name)
    return dict(by_cron)


def serve(
    sources: list[Source],
    registry: Path,
    warehouse: Path,
    raw_dir: Path,
    *,
    default_cron: str | None,
    api_url: str,
    interval_s: float | None = None,
) -> None:
    """Serve one deployment per cadence until interrupted. `interval_s` (instead of cron) is for trying it out."""
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.build import scheduled_run_flow

    parameters = {"registry": str(registry.resolve()), "warehouse": str(warehouse.resolve()),
                  "raw_dir": str(raw_dir.resolve())}  # fmt: skip
    deployments = []
    if interval_s:
        deployments.append(
            scheduled_run_flow.to_deployment(
                name="peergroups-every-interval",
                interval=interval_s,
                parameters={**parameters, "source_names": [source.name for source in sources]},
                concurrency_limit=1,
            )
        )
    else:
        for number, (cron, names) in enumerate(sorted(cadences(sources, default_cron).items()), start=1):
            deployments.append(
                scheduled_run_flow.to_deployment(
                    name=f"peergroups-cadence-{number}",
                    cron=cron,
                    parameters={**parameters, "source_names": names},
                    concurrency_limit=1,
                    description=f"crawl {', '.join(names)} on '{cron}'",
                )
            )
    # Prefect may have read its settings before the server existed (a registry's cron is checked with Prefect).
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        prefect_serve(*deployments, print_starting_message=False)
