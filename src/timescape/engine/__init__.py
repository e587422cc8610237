"""What the facade owns: the parts that run plans, recover from crashes and report.

Composition, not mixins: the :class:`~timescape.Timescape` facade holds these parts as attributes,
each built with the collaborators it uses (never the facade), and delegates to them;
``assembly`` builds and wires them (:class:`~timescape.engine.assembly.Parts`).
``connection``: the backend, the state store and their error boundary; ``definitions``: the
registered schemas and versions; ``callbacks``; ``hotpath``: the in-memory view; ``runner``: the
locked run of a change; ``changes``: activate, deactivate, apply, roll back; ``inspection``: the
reports and ``verify``; ``bookkeeping``: tags, an operator's verdict and adoption (``adoption``,
the catalog check it loads on first use). ``outcome`` and ``interrupt``: what a failed or
interrupted statement left, and Ctrl-C; ``instances``: serving processes, their heartbeats and the
change probe; ``drain``: waiting until every live instance has let go of a version; ``retirement``:
the two-phase deactivation built on it.
"""
