"""Running and stopping the waitress servers (the receiver's, the sandbox's) from a thread."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore


def run_in_thread(server: Any, name: str = "receiver") -> threading.Thread:
    """Serve from a daemon thread; stop(server) from another thread ends it quietly."""

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):  # the socket map was closed under select(): a normal shutdown
            pass

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def stop(server: Any, grace_s: float = 5.0) -> None:
    """Stop a server made by waitress's create_server, freeing all it holds. Its close() only closes the
    listening socket of a single-socket server: the worker threads would wait for work forever and open
    keep-alive connections would stay in its socket map, keeping the serving loop alive. Requests already
    being answered get `grace_s` to finish."""
    server.close()  # no new connection
    server.task_dispatcher.shutdown(timeout=grace_s)
    wasyncore.close_all(getattr(server, "_map", None) or getattr(server, "map", {}))
