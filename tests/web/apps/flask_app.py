"""A Flask app behind the WSGI middleware, served by werkzeug's server (``flask run``)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from timescape import ServingInstance, TimescapeWSGIMiddleware, current_version, load_project

timescape = load_project(Path(os.environ["APP_PROJECT"])).timescape()
app = Flask(__name__)
serving = ServingInstance(timescape, poll_interval=float(os.environ.get("APP_REFRESH", "0.2")))
app.wsgi_app = TimescapeWSGIMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, timescape=timescape, serving=serving
)


@app.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="ok", version=request.environ.get("timescape.version"))


@app.get("/api/products")
def products() -> ResponseReturnValue:
    version = request.environ["timescape.version"]
    return jsonify(tsv=version.tsv, schema=version.schema, tags=list(version.tags),
                   ref=version.ref, context=current_version.get())
