"""`peergroups serve` schedules real runs against the demo world on a Prefect server it starts and stops, and
`peergroups status` shows them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.local_server import serve_directory
from tests.conftest import PROJECT_ROOT, run_cli

DEMO = PROJECT_ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def demo_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo registry pointed at the demo sites served on 127.0.0.1, with no politeness delay (our own server)."""
    with serve_directory(DEMO / "sites") as base_url:
        text = (DEMO / "sources.toml").read_text().replace("{base_url}", base_url)
        text = text.replace("[[source]]\n", "[[source]]\ndownload_delay = 0\nautothrottle = false\n")
        path = tmp_path_factory.mktemp("serve") / "sources.toml"
        path.write_text(text)
        yield path


def finished_runs(warehouse: Path) -> int:
    """Runs finished so far; 0 while the warehouse does not exist or a load holds it."""
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return 0
    try:
        return con.execute("SELECT count(*) FROM runs WHERE status <> 'running'").fetchall()[0][0]
    except duckdb.Error:
        return 0
    finally:
        con.close()


def test_serve_runs_on_schedule_and_stops_its_prefect_server(demo_registry: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--interval", "5", "--registry", str(demo_registry),
         "--warehouse", str(warehouse)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while finished_runs(warehouse) < 2 and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(1)
        assert finished_runs(warehouse) >= 2, "no two scheduled runs finished within 4 minutes"
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            output, _ = serve.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            serve.kill()
            output, _ = serve.communicate()
    api = re.search(r"Prefect API: (http://127\.0\.0\.1:\d+/api)", output)
    assert api, output
    assert "stopped serving" in output
    assert serve.returncode == 0, output
    # Checked without serve's own health probe: nothing listens at the server's address any more.
    address = urllib.parse.urlsplit(api.group(1))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address.hostname, address.port), timeout=5).close()

    status = run_cli("status", "--warehouse", str(warehouse))
    assert status.returncode == 0, status.stderr
    assert re.search(r"^\S+\s+run\s+ok\s", status.stdout, flags=re.M), status.stdout
    # The first run linked every pair; the demo world does not change, so later runs link nothing (newest first).
    links = re.findall(r"^\S+\s+run\s+ok\s.*\s(full|incremental|none)$", status.stdout, flags=re.M)
    assert links[-1] == "full" and links[0] == "none", status.stdout
    for source in ("riverside_peers", "lakeshore_mood", "oregon_mood_alliance"):
        assert re.search(rf"^{source}\s+ok\s+\d+\s+\+0\s", status.stdout, flags=re.M), status.stdout


def test_serve_needs_a_cadence_and_a_valid_cron(demo_registry: Path, tmp_path: Path) -> None:
    result = run_cli("serve", "--registry", str(demo_registry), "--warehouse", str(tmp_path / "w.duckdb"))
    assert result.returncode == 2 and "no cadence for" in result.stderr
    result = run_cli("serve", "--cron", "every monday", "--registry", str(demo_registry))
    assert result.returncode == 2 and "cron expression" in result.stderr


def test_status_on_an_empty_or_missing_warehouse_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("status", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2 and "no warehouse" in result.stderr and "Traceback" not in result.stderr
