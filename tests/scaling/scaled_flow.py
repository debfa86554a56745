"""The deployable flow of docs/scaling.md step 1: the real `build_flow`, its crawl tasks on a Dask cluster.

`tests/scaling/prefect.yaml` deploys `scaled_build` onto a process work pool; `prefect_dask_crawl` proves it. Paths
are strings because deployment parameters travel as JSON. With `sites` set, that folder is served on 127.0.0.1 and
fills `{base_url}` in the registry (the demo world); without it the registry's real URLs are crawled politely.
With `dask_address` the crawl tasks go to an existing Dask scheduler (a cluster across machines); otherwise a
local cluster of `workers` single-threaded worker processes is started for the run.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from prefect import flow


@flow(name="peergroups-scaled-build", flow_run_name="scaled-build")
def scaled_build(
    registry: str = "data/demo/sources.toml",
    warehouse: str = "data/scale-proof/warehouse.duckdb",
    raw_root: str | None = None,
    sites: str | None = "data/demo/sites",
    workers: int = 2,
    dask_address: str | None = None,
) -> dict[str, Any]:
    from prefect_dask import DaskTaskRunner

    from flows.build import build_flow
    from flows.cli import LOCAL_SETTINGS
    from flows.local_server import serve_directory
    from flows.registry import load_registry

    if dask_address:
        runner = DaskTaskRunner(address=dask_address)
    else:
        runner = DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
        )
    warehouse_path = Path(warehouse)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with serve_directory(Path(sites)) if sites else nullcontext(None) as base_url:
        sources = load_registry(Path(registry), {"base_url": base_url} if base_url else None)
        report = build_flow.with_options(task_runner=runner)(
            sources,
            warehouse_path,
            Path(raw_root) if raw_root else warehouse_path.parent / "raw",
            kind="run",
            extra_settings=LOCAL_SETTINGS if sites else None,
        )
    return {"status": report["status"], "totals": report["totals"]}
