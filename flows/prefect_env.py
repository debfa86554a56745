"""Prefect's environment, set before Prefect is imported: offline, quiet, and at home in the project's data folder.

Prefect reads its settings when first imported, so the CLI calls `configure_prefect` before importing any flow.
Values the user has set already are kept.
"""

from __future__ import annotations

import os
from pathlib import Path


def configure_prefect(data_dir: Path) -> None:
    # The temporary server posts analytics to an outside host every 10 minutes; offline that only logs errors
    # (and once corrupted a cold start), so it is off.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str((data_dir / "prefect").resolve()))
    # Prefect creates its home without parents; a warehouse in a new folder must not break its start.
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    # Prefect's own log lines (including the tracebacks of crawl tasks that failed and were retried) go to its run
    # logs, not the terminal: the CLI prints its own progress and a one-line reason for each failed source.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    # The temporary server's start is given 20 s by default; a busy 2-core machine (a crawl, a load) needs more.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
