"""What the facade owns: the parts that run plans, recover from crashes and report.

Composition, not mixins: the :class:`~timescape.Timescape` facade holds these parts and delegates
to them. ``outcome`` and ``interrupt``: what a failed or interrupted statement left, and Ctrl-C;
``instances``: serving processes, their heartbeats and the change probe; ``drain``: waiting until
every live instance has let go of a version; ``retirement``: the two-phase deactivation built on it.
"""
