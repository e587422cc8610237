"""A FastAPI app with two endpoints on one path, one per version, served by uvicorn in the tests.

The project file comes from ``APP_PROJECT``; the background refresh interval from
``APP_REFRESH`` (seconds).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI

from timescape import load_project
from timescape.web.fastapi import ResolvedVersion, Versioning
from timescape.web.serving import ServingInstance

timescape = load_project(Path(os.environ["APP_PROJECT"])).timescape()
versioning = Versioning(
    timescape, serving=ServingInstance(timescape, poll_interval=float(os.environ.get("APP_REFRESH", "0.2")))
)
app = FastAPI(title="products")
versioning.install(app)
Version = Annotated[ResolvedVersion, Depends(versioning.current)]


def describe(version: ResolvedVersion, variant: str) -> dict[str, object]:
    return {
        "variant": variant,
        "tsv": version.tsv,
        "schema": version.schema,
        "tags": list(version.tags),
        "ref": version.ref,
    }


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/products")
@versioning.serves("v1")
async def products_v1(version: Version) -> dict[str, object]:
    return describe(version, "v1")


@app.get("/api/products")
@versioning.serves(since="v2")
async def products_v2(version: Version) -> dict[str, object]:
    return describe(version, "v2")


@app.get("/api/products/{product_id}")
async def product(product_id: int, version: Version) -> dict[str, object]:
    return {"id": product_id, **describe(version, "any")}
