"""The ``timescape`` command line, on top of the :class:`~timescape.manager.Timescape` facade."""
