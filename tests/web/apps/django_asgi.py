"""The Django test site as an ASGI application (for uvicorn)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.web.apps.django_site")

from django.core.asgi import get_asgi_application

application = get_asgi_application()
