"""Step 1 of docs/scaling.md: sources crawled in parallel on Dask workers, and the same flow on a process work pool.

    python -m tests.scaling.prefect_dask_crawl              # both parts (~2.5 min on 2 cores)
    python -m tests.scaling.prefect_dask_crawl --skip-pool  # only the Dask part

What it proves, against the demo world served on 127.0.0.1 (flows/local_server.py) and a local `prefect server
start` (a temporary home, telemetry off, ended afterwards):

A. The real `flows.build.build_flow`, unchanged, with `task_runner=prefect_dask.DaskTaskRunner` on a local Dask
   cluster of 2 worker processes: every `crawl_task` runs on a Dask worker, both workers take crawls, the tasks
   report to the Prefect server, and the warehouse holds the same groups as the default (thread pool) runner's.
B. The same flow deployed from tests/scaling/prefect.yaml onto a `process` work pool: `prefect work-pool create`,
   `prefect deploy`, `prefect deployment run`, and `prefect worker start --run-once` runs it to COMPLETED.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.scaling.common import ROOT, Timings, check, finish, free_port, http_ok, require, say, service, wait_for

POOL = "peergroups-process"
DEPLOYMENT = "peergroups-scaled-build/scale-proof"


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
        "PEERGROUPS_ROOT": str(ROOT),
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def prefect_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "prefect"), "--no-prompt", *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    say(f"  $ prefect {' '.join(args)}  → exit {done.returncode}")
    if done.returncode:
        say(done.stdout[-2000:] + done.stderr[-2000:])
    return done


def task_runs(flow_run_ids: list[Any]) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)))


def groups_of(warehouse: Path) -> list[tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT group_id, name FROM groups ORDER BY group_id").fetchall()
    finally:
        con.close()


def part_dask(work: Path, workers: int, timings: Timings) -> bool:
    from distributed import Client, LocalCluster, get_task_stream
    from prefect_dask import DaskTaskRunner

    from flows.build import build_flow
    from flows.cli import DEMO_DIR, LOCAL_SETTINGS
    from flows.local_server import serve_directory
    from flows.registry import load_registry

    say(f"\nA. build_flow with DaskTaskRunner on a local Dask cluster of {workers} worker processes")
    with timings(f"start LocalCluster ({workers} workers)"):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    worker_pids = client.run(os.getpid)  # worker address → process id
    ok = True
    try:
        with serve_directory(DEMO_DIR / "sites") as base_url:
            sources = load_registry(DEMO_DIR / "sources.toml", {"base_url": base_url})
            say(f"  demo world at {base_url}: {len(sources)} sources")
            with timings("build_flow, default thread-pool runner (baseline)"):
                baseline = build_flow(
                    sources, work / "threads" / "warehouse.duckdb", work / "threads" / "raw", kind="demo",
                    extra_settings=LOCAL_SETTINGS,
                )  # fmt: skip
            runner = DaskTaskRunner(address=cluster.scheduler_address)
            with timings(f"build_flow, DaskTaskRunner ({workers} workers)"), get_task_stream(client) as stream:
                state = build_flow.with_options(task_runner=runner)(
                    sources, work / "dask" / "warehouse.duckdb", work / "dask" / "raw", kind="demo",
                    extra_settings=LOCAL_SETTINGS, return_state=True,
                )  # fmt: skip
            report = state.result()
        crawls = [entry for entry in stream.data if str(entry["key"]).startswith("crawl_task")]
        by_worker: dict[str, int] = {}
        for entry in crawls:
            by_worker[entry["worker"]] = by_worker.get(entry["worker"], 0) + 1
        say("  crawl tasks per Dask worker: " + ", ".join(
            f"pid {worker_pids.get(worker, '?')} ({worker}): {count}" for worker, count in sorted(by_worker.items())
        ))  # fmt: skip
        ok &= check(len(crawls) == len(sources), f"all {len(sources)} crawl_task runs executed on Dask workers")
        ok &= check(len(by_worker) == workers, f"the crawls were spread over {len(by_worker)} worker processes")
        runs = [run for run in task_runs([state.state_details.flow_run_id]) if run.name.startswith("crawl-")]
        completed = sum(run.state_type.value == "COMPLETED" for run in runs)
        ok &= check(
            completed == len(sources), f"the Prefect server recorded {completed} COMPLETED crawl task runs of the flow"
        )
        totals = report["totals"]
        say(f"  Dask run: {totals['raw']} raw = {totals['listings']} listings + {totals['rejects']} rejects; "
            f"{totals['groups']} groups; status {report['status']}")  # fmt: skip
        ok &= check(report["status"] == "ok" and totals == baseline["totals"], "same totals as the thread-pool run")
        same = groups_of(work / "dask" / "warehouse.duckdb") == groups_of(work / "threads" / "warehouse.duckdb")
        ok &= check(same, "identical groups (ids and names) in both warehouses")
    finally:
        client.close()
        cluster.close()
    return ok


def part_pool(work: Path, env: dict[str, str], timings: Timings) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    say(f"\nB. the same flow as a deployment on a process work pool ({POOL})")
    ok = True
    warehouse = work / "pool" / "warehouse.duckdb"
    with timings("work-pool create + deploy + deployment run"):
        ok &= check(prefect_cli(env, "work-pool", "create", POOL, "--type", "process").returncode == 0,
                    "prefect work-pool create --type process")  # fmt: skip
        ok &= check(
            prefect_cli(env, "deploy", "--all", "--prefect-file", "tests/scaling/prefect.yaml").returncode == 0,
            "prefect deploy --prefect-file tests/scaling/prefect.yaml",
        )
        run = prefect_cli(env, "deployment", "run", DEPLOYMENT, "--param", f"warehouse={warehouse}")
        ok &= check(run.returncode == 0, f"prefect deployment run {DEPLOYMENT}")
    if not ok:
        return False
    with timings("prefect worker start --run-once (runs the flow)"):
        worker = prefect_cli(env, "worker", "start", "--pool", POOL, "--type", "process", "--run-once",
                             timeout=900)  # fmt: skip
    (work / "pool-worker.log").write_text(worker.stdout + worker.stderr)
    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs()
        top = [fr for fr in flow_runs if fr.deployment_id is not None]
        ok &= check(len(top) == 1, "one flow run of the deployment")
        if not top:
            return False
        flow_run = top[0]
        say(
            f"  flow run {flow_run.name} ({flow_run.id}): {flow_run.state_type.value}, "
            f"{(flow_run.total_run_time.total_seconds() if flow_run.total_run_time else 0):.1f} s run time"
        )
        ok &= check(flow_run.state_type.value == "COMPLETED", "the worker ran the deployment's flow run to COMPLETED")
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run.id]))
        )
    runs = [run for run in task_runs([child.id for child in children]) if run.name.startswith("crawl-")]
    completed = sum(run.state_type.value == "COMPLETED" for run in runs)
    ok &= check(
        completed == 7, f"its build_flow subflow ran {completed} crawl tasks to COMPLETED (on its Dask cluster)"
    )
    groups = groups_of(warehouse) if warehouse.exists() else []
    ok &= check(
        len(groups) == 22, f"the deployment's warehouse holds {len(groups)} groups (the demo's 22 before ingest)"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (default 2)")
    parser.add_argument("--skip-pool", action="store_true", help="only part A (no deployment, no work pool)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (warehouses, logs)")
    args = parser.parse_args(argv)
    require({"prefect_dask": "prefect-dask", "dask": "dask", "distributed": "distributed"})

    timings = Timings()
    work = Path(tempfile.mkdtemp(prefix="peergroups-scale-dask-"))
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server_env = prefect_env(work / "prefect")
    (work / "prefect").mkdir()
    say(f"work folder {work}; prefect server start on 127.0.0.1:{port}")
    ok = True
    server_command = [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                      "--port", str(port), "--no-ui", "--analytics-off"]  # fmt: skip
    with service(server_command, work / "prefect-server.log", server_env):
        with timings("prefect server start (until /api/health answers)"):
            wait_for(lambda: http_ok(f"{api_url}/health"), "prefect server", timeout_s=120)
        # Everything below (this process, its Dask workers, the CLI) talks to that server.
        env = prefect_env(work / "prefect", api_url)
        os.environ.clear()
        os.environ.update(env)
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            ok &= part_dask(work, args.workers, timings)
        if not args.skip_pool:
            ok &= part_pool(work, env, timings)
    print()
    timings.show()
    step = "step 1 (Prefect + Dask task runner" + ("" if args.skip_pool else " + process work pool") + ")"
    return finish(work, ok, args.keep, step)


if __name__ == "__main__":
    raise SystemExit(main())
