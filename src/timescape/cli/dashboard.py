"""``timescape dashboard``: serve the read-only web page until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from timescape.cli._context import App, global_options, pass_app
from timescape.errors import InputError

__all__ = ["dashboard_command"]


@click.command("dashboard")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="TCP port (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but loopback exposes the page to your network.",
)
@click.option(
    "--refresh",
    type=click.FloatRange(0.25, 3600),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="How often the page polls the state.",
)
@global_options
@pass_app
def dashboard_command(app: App, port: int, host: str, refresh: float) -> None:
    """Serve a read-only web page: versions, the schema DAG, instances, history, verify.

    The page refreshes itself from the database (no reload needed) and offers no write action.
    It binds to 127.0.0.1 unless --host says otherwise. Stop it with Ctrl-C.
    """
    from timescape.web.dashboard import DashboardServer  # noqa: PLC0415 - keeps --help light

    ts = app.timescape()
    ts.verify()  # fail now, with the usual one-line error, if the database cannot be read
    try:
        server = DashboardServer(ts, host=host, port=port, refresh_s=refresh, secrets=app.secrets())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(
            f"cannot serve the dashboard on {host}:{port}: {reason}; choose another --port "
            "(0 picks a free one) or --host"
        ) from None
    if not server.is_loopback:
        app.warn(
            f"Warning: the dashboard is bound to {host}: anyone who can reach this address can "
            "read it. Use the default 127.0.0.1 unless you mean that."
        )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    # The handler is in place before the address is printed: whoever read it may stop us at once.
    previous = signal.signal(signal.SIGTERM, stop)
    if app.json:
        app.emit_json({"format": 1, "url": server.url, "read_only": True})
    else:
        app.echo(f"Timescape dashboard on {server.url} (read-only; Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        app.echo("Stopped.")
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
