"""The serving core under a framework of your own: a tiny WSGI app routed by ServingInstance.

Run it: ``python docs_src/serving_core.py``. It uses a throwaway SQLite database, serves v1 and v2
of /api/items, retires v2 from a second facade (as `timescape version deactivate` would from
another process), and shows the app answering 410 Gone once the change has reached it.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

from timescape import Timescape
from timescape.web.serving import ServingInstance

HANDLER = "/api/items"


def facade(url: str) -> Timescape:
    ts = Timescape(url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema(
        "s2",
        ["ALTER TABLE items ADD COLUMN price_cents INTEGER"],
        ["ALTER TABLE items DROP COLUMN price_cents"],
        parent="s1",
    )
    ts.add_version(HANDLER, "2025-01-01T00:00:00Z", "s1", tags=["v1"])
    ts.add_version(HANDLER, "2025-06-01T00:00:00Z", "s2", tags=["v2"])
    return ts


def make_app(serving: ServingInstance) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: every request on a versioned path is admitted, answered, then released."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = serving.handler_for(environ["PATH_INFO"])
        if handler is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        with serving.request(handler, environ.get("HTTP_X_API_VERSION")) as decision:
            if not decision.is_served:
                status = "410 Gone" if decision.status == 410 else "404 Not Found"
                start_response(status, [("Content-Type", "application/json"), *decision.headers])
                return [decision.json_body()]
            # Serve decision.tsv; its schema is decision.schema.
            body = json.dumps({"version": decision.tsv, "schema": decision.schema}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), *decision.headers])
            return [body]

    return app


def get(app: Callable[..., Iterable[bytes]], ref: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": HANDLER, "HTTP_X_API_VERSION": ref}
    setup_testing_defaults(environ)
    answer: list[str] = []
    body = b"".join(app(environ, lambda status, _headers: answer.append(status)))
    return answer[0], body


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'app.db'}"
        operator = facade(url)
        operator.activate("v1", handler=HANDLER)
        operator.activate("v2", handler=HANDLER)

        serving = ServingInstance(facade(url), poll_interval=0.05)
        serving.open()  # at start-up: registers, loads the routing table, starts two threads
        app = make_app(serving)
        print("v2 ->", *get(app, "v2"))

        operator.deactivate("v2", handler=HANDLER)  # drains this instance, then rolls back s2
        deadline = time.monotonic() + 10  # the change reaches the instance within poll_interval
        while serving.generation < operator.state_generation() and time.monotonic() < deadline:
            time.sleep(0.01)
        status, body = get(app, "v2")
        print("v2 ->", status, json.loads(body)["error"]["message"])
        print("v1 ->", *get(app, "v1"))

        serving.close()  # at shutdown: stops the threads and unregisters
        serving.timescape.close()
        operator.close()


if __name__ == "__main__":
    main()
