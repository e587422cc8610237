"""What the :class:`~timescape.Timescape` facade owns and delegates to (composition, not mixins).

The parts that run plans, recover from crashes and report; ``instances``: serving processes, their
heartbeats and the change probe; ``drain``: waiting until every live instance has let go of a
version; ``retirement``: the two-phase deactivation built on it.

Added in 0.2.
"""
