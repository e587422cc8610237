"""A one-module Django site (settings, URLs, views) for the tests; ``APP_DATABASE`` is JSON.

Served by ``runserver`` (WSGI: the middleware's sync path) and by uvicorn through
:mod:`tests.web.apps.django_asgi` (ASGI: its async path).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from django.db import connection
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path

from timescape.web.asgi import current_version
from timescape.web.django import get_serving

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "tests.web.apps.django_site"
INSTALLED_APPS = ["timescape.web.django"]
MIDDLEWARE = ["timescape.web.django.TimescapeMiddleware"]
DATABASES = {"default": json.loads(os.environ.get("APP_DATABASE", "{}"))}
TIMESCAPE = {"PROJECT": os.environ.get("APP_PROJECT"), "POLL_INTERVAL": 0.2}
USE_TZ = True


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def products(request: HttpRequest) -> JsonResponse:
    version = request.timescape_version  # type: ignore[attr-defined]
    columns = "id, name, price_cents" if version.schema == "s2" else "id, name"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM products ORDER BY id")
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return JsonResponse(
        {"tsv": version.tsv, "schema": version.schema, "tags": list(version.tags),
         "context": current_version.get(), "products": rows}
    )


def in_flight(request: HttpRequest) -> StreamingHttpResponse:
    """Streams the instance's in-flight counts while this very response is being sent."""

    def body() -> Iterator[bytes]:
        yield b""
        yield json.dumps(get_serving().in_flight()).encode()

    return StreamingHttpResponse(body(), content_type="application/json")


urlpatterns = [
    path("health", health),
    path("api/products", products),
    path("api/products/in-flight", in_flight),
]
