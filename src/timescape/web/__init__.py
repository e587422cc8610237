"""Web integrations: the serving core and the framework adapters built on it.

Optional extras live here (ASGI middleware today; framework adapters later). Nothing in the core
of Timescape imports this package, so ``import timescape`` stays free of web code.
"""
