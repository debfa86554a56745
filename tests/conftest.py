"""Shared fixtures: a real HTTP server on 127.0.0.1 over tests/fixtures, an isolated Prefect, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.local_server import StaticHandler, serve_directory

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_ROOT = Path(__file__).parent.parent


class FixtureHandler(StaticHandler):
    """Static fixtures, plus fault routes: `/_status/<code>` answers that status, `/_slow/<s>` waits first."""

    def do_GET(self) -> None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "_status":
            code = int(parts[1])
            body = json.dumps({"error": f"fixture answered {code}"}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if len(parts) >= 2 and parts[0] == "_slow":
            time.sleep(float(parts[1]))
            self.path = "/" + "/".join(parts[2:])
        super().do_GET()


@pytest.fixture(scope="session")
def fixture_site() -> Iterator[str]:
    """Base URL of a threading HTTP server (large backlog) serving tests/fixtures/."""
    with serve_directory(FIXTURES, handler=FixtureHandler) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Prefect home of this test session's own, so no cached results leak in from elsewhere."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture(scope="session")
def prefect_harness(prefect_home: Path) -> Iterator[None]:
    """Prefect's test harness (a temporary database) with telemetry off; Prefect is imported only here."""
    saved = {key: os.environ.get(key) for key in ("PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")}
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed `peergroups` command, as a user runs it, in a fresh process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["DO_NOT_TRACK"] = "1"
    command = [str(Path(sys.executable).parent / "peergroups"), *args]
    return subprocess.run(
        command, cwd=cwd or PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Where a test's own warehouse goes (not yet created); modules that share a built one override this."""
    return tmp_path / "warehouse.duckdb"


def query(warehouse: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one query on a warehouse file, read-only (the file is closed again at once)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, list(params) or None).fetchall()
    finally:
        con.close()
