"""A static HTTP server on 127.0.0.1 for the demo directories (and the tests' fixture sites).

`http.server`'s default listen backlog of 5 drops connections under a crawl, so the queue is raised. A path
without an extension is served from `<path>.json` when that file exists, and a folder from its `index.json`, so a
fixture can stand at a real feed's address (`/wp-json/tsml/meetings`, `client_interface/json/?switcher=...`; the
query string is ignored).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class StaticHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {**SimpleHTTPRequestHandler.extensions_map, ".json": "application/json"}

    def translate_path(self, path: str) -> str:
        local = super().translate_path(path)
        candidate = Path(local + ".json")
        if not Path(local).exists() and candidate.is_file():
            return str(candidate)
        index = Path(local) / "index.json"
        if Path(local).is_dir() and index.is_file():
            return str(index)  # an API answering at a folder URL ("client_interface/json/?switcher=...")
        return local

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the crawl's own log says what was fetched."""


@contextmanager
def serve_directory(root: Path, port: int = 0, handler: type[StaticHandler] = StaticHandler) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 (a free port unless given) for the duration of the block; yields the base URL."""
    server = _Server(("127.0.0.1", port), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="peergroups-local-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
