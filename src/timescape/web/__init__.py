"""Web integrations: the serving core and the framework adapters built on it.

- :mod:`timescape.web.serving` and :mod:`timescape.web.routing`: the framework-neutral core
  (routing table in memory, 404/410 decisions, in-flight counts, heartbeat, change propagation).
- :mod:`timescape.web.asgi`: the pure-ASGI middleware.
- :mod:`timescape.web.fastapi`: FastAPI/Starlette (``fastapi`` extra).
- :mod:`timescape.web.django`: Django middleware and ``manage.py timescape`` (``django`` extra).
- :mod:`timescape.web.wsgi`: the WSGI middleware (Flask and any WSGI app; no framework import).
- :mod:`timescape.web.request`: what the adapters share (:class:`ResolvedVersion`).

Nothing in the core of Timescape imports this package, so ``import timescape`` stays free of web
code.
"""
