"""``timescape instances``, and what the version commands show of serving instances and drains."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from timescape.cli._context import App, global_options, pass_app
from timescape.cli.render import Cell, iso, table, when

if TYPE_CHECKING:  # the model loads when a command runs, not for --help
    from collections.abc import Callable

    from timescape.model.instance import InstanceInfo
    from timescape.reports import VersionInfo

F = TypeVar("F", bound="Callable[..., Any]")

__all__ = ["DrainReporter", "drain_options", "holders_of", "instance_json", "instances_command"]

JSON_FORMAT = 1
_QUIET_S = 0.5
_REPEAT_S = 2.0


def holders_of(
    version: VersionInfo, instances: list[InstanceInfo]
) -> list[tuple[InstanceInfo, str]]:
    """The live instances that still hold (or serve) a version, each with what they hold.

    A retiring version is held by every instance that has not let go of it (not yet loaded the
    state that retired it, or requests in flight); a routed one by those with requests in flight.

    Args:
        version: The version.
        instances: The registered instances.

    Returns:
        ``(instance, reason)`` pairs.
    """
    result = []
    for instance in instances:
        if instance.is_stale:
            continue
        if version.retiring_generation is not None:
            why = instance.holds(version.tsv, version.retiring_generation)
        else:
            count = instance.in_flight.get(version.tsv, 0)
            why = f"{count} in flight" if count else None
        if why is not None:
            result.append((instance, why))
    return result


def instance_json(instance: InstanceInfo, retiring: list[VersionInfo]) -> dict[str, Any]:
    """One instance as ``instances --json`` prints it."""
    return {
        "id": instance.id,
        "host": instance.host,
        "pid": instance.pid,
        "label": instance.label,
        "started_at": iso(instance.started_at) if instance.started_at else None,
        "heartbeat_at": iso(instance.heartbeat_at),
        "age_s": instance.age_s,
        "stale_after_s": instance.stale_after_s,
        "stale": instance.is_stale,
        "generation": instance.generation,
        "in_flight": dict(instance.in_flight),
        "draining": [
            v.tsv
            for v in retiring
            if v.retiring_generation is not None
            and instance.holds(v.tsv, v.retiring_generation) is not None
        ],
    }


@click.command("instances")
@global_options
@pass_app
def instances_command(app: App) -> None:
    """List the processes serving versions: heartbeat, loaded state, in-flight requests.

    An instance whose last heartbeat is older than its stale_after counts as gone: a
    deactivation no longer waits for it, and it is pruned. DRAINING names the retiring
    versions it still holds.
    """
    ts = app.timescape()
    found = ts.instances()
    generation = ts.state_generation()
    retiring = [v for v in ts.versions() if v.retiring_generation is not None]
    rows = [instance_json(i, retiring) for i in found]
    if app.json:
        app.emit_json({"format": JSON_FORMAT, "generation": generation, "instances": rows})
        return
    if not found:
        app.echo("No serving instances registered.")
        return
    style = app.style
    now = datetime.now(UTC)
    cells: list[list[str | Cell]] = []
    for instance, row in zip(found, rows, strict=True):
        state = "stale" if instance.is_stale else "live"
        behind = "" if instance.generation >= generation else f" (state is {generation})"
        busy = ", ".join(f"{t} {n}" for t, n in sorted(instance.in_flight.items())) or "-"
        cells.append(
            [
                instance.id[:8],
                instance.host,
                str(instance.pid),
                instance.label or "-",
                when(instance.started_at, now) if instance.started_at else "-",
                f"{instance.age_s:.1f} s ago",
                f"{instance.generation}{behind}",
                busy,
                Cell(state, (lambda t: style(t, "red")) if instance.is_stale else None),
                ", ".join(row["draining"]) or "-",
            ]
        )
    headers = [
        "ID",
        "HOST",
        "PID",
        "LABEL",
        "STARTED",
        "HEARTBEAT",
        "GENERATION",
        "IN FLIGHT",
        "STATE",
        "DRAINING",
    ]
    app.echo(table(headers, cells, style))


def drain_options(func: F) -> F:
    """``--drain-timeout S`` and ``--no-drain``, for commands that deactivate versions."""
    func = click.option(
        "--no-drain",
        is_flag=True,
        help="Roll back without waiting for the serving instances (logged as forced).",
    )(func)
    return click.option(
        "--drain-timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="S",
        default=None,
        help="Seconds to wait for every serving instance to let go of the version "
        "(default: drain_timeout in the project file, else 30).",
    )(func)


class DrainReporter:
    """Tells the operator on stderr who a drain is still waiting for.

    Quiet for the first half second (idle instances acknowledge well within it); then one line
    when the set of holders changes, and again every two seconds.
    """

    def __init__(self, app: App) -> None:
        """Bind to the CLI context (for masking)."""
        self.app = app
        self._last: tuple[str, ...] = ()
        self._said = 0.0

    def __call__(self, elapsed: float, pending: list[tuple[InstanceInfo, str]]) -> None:
        """Report the instances still holding, if worth a line."""
        if elapsed < _QUIET_S:
            return
        names = tuple(f"{i.name}: {why}" for i, why in pending)
        moment = time.monotonic()
        if names == self._last and moment - self._said < _REPEAT_S:
            return
        self._last, self._said = names, moment
        line = (
            f"timescape: draining, {elapsed:.1f} s: waiting for {len(pending)} instance(s): "
            + "; ".join(names)
        )
        sys.stderr.write(self.app.scrub(line) + "\n")
        sys.stderr.flush()
