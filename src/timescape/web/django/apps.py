"""The Django app config: lists ``timescape.web.django`` in ``INSTALLED_APPS`` for the command."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["TimescapeConfig"]


class TimescapeConfig(AppConfig):
    """Timescape as a Django app: no models, one management command (``timescape``)."""

    name = "timescape.web.django"
    label = "timescape"
    verbose_name = "Timescape"
