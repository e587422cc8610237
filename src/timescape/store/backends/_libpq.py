"""PostgreSQL: statements sent straight through libpq, below psycopg's cursor (issue 14).

Psycopg's cursor spends about 45k instructions per statement (adaptation, prepared-statement
bookkeeping, result objects, a generator per wait) that a statement Timescape sends once, or a
state write whose only answer is success, never uses. Here are the two framings that replace it:

- :func:`simple_query`: a parameterless text (one or more statements) in libpq's simple query
  protocol: BEGIN, a migration statement, COMMIT.
- :func:`pipeline`: state writes with their parameters bound on the server (extended protocol,
  text values with their types), and the COMMIT, in one libpq pipeline: one round trip, and the
  COMMIT runs only if every write before it landed.

Both wait on the connection's socket with ``poll``, so the watchdog's cancel and a server-side
timeout end the wait as they end any statement; an exception during the wait (a second Ctrl-C)
closes the connection, so the server ends the statement and rolls the transaction back instead of
leaving a session busy with it. A failed result is raised as the psycopg error the cursor raises.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Sequence
from typing import Any, Final

__all__ = [
    "INT8_OID",
    "TUPLES_OK",
    "Bound",
    "bound_params",
    "collect_results",
    "error_from",
    "is_local",
    "numbered",
    "pipeline",
    "pipeline_results",
    "readable_waiter",
    "several_statements",
    "simple_query",
    "simple_query_results",
    "wait_for_results",
]

# libpq's ExecStatusType values (psycopg.pq.ExecStatus), so the hot path imports nothing.
TUPLES_OK: Final = 2
_FATAL_ERROR: Final = 7
_COPY_STATES: Final = (3, 4, 8)  # COPY_OUT, COPY_IN, COPY_BOTH
_PIPELINE_SYNC: Final = 10
INT8_OID: Final = 20
"""A Python int is sent as ``bigint``; a str as ``unknown`` (0), typed by the server from where it
lands, as psycopg sends both in text format."""
_SQLSTATE_FIELD: Final = ord("C")  # PG_DIAG_SQLSTATE
_SOURCE_FUNCTION_FIELD: Final = ord("R")  # PG_DIAG_SOURCE_FUNCTION
_INT8_MIN: Final = -(1 << 63)
_INT8_MAX: Final = (1 << 63) - 1

Bound = tuple[bytes, list[bytes | None], list[int]]
"""A statement ready for ``PQsendQueryParams``: text with ``$n``, values as text, type OIDs."""


def numbered(sql: str) -> str:
    """``sql`` with each ``?`` placeholder as ``$1``, ``$2`` ... (libpq's numbered parameters).

    Timescape's own statements carry no ``?`` other than their placeholders (the same rule
    :meth:`~timescape.store.base.Backend._translate` relies on).
    """
    parts = sql.split("?")
    if len(parts) == 1:
        return sql
    out = [parts[0]]
    for i, part in enumerate(parts[1:], 1):
        out.append(f"${i}")
        out.append(part)
    return "".join(out)


def bound_params(params: Sequence[object]) -> tuple[list[bytes | None], list[int]] | None:
    """Text values and type OIDs for ``params``; None unless each is an ASCII str, an int or None.

    ASCII text reads the same in every client encoding PostgreSQL speaks, so a value encoded
    before a queued ``RESET ALL`` (which may change the client encoding) still means what it
    said. Anything else (non-ASCII text, a bool, a date, an int outside ``bigint``) is left to
    psycopg's adaptation, statement by statement.
    """
    values: list[bytes | None] = []
    types: list[int] = []
    for value in params:
        if value is None:
            values.append(None)
            types.append(0)
        elif type(value) is str:
            if not value.isascii():
                return None
            values.append(value.encode())
            types.append(0)
        elif type(value) is int and _INT8_MIN <= value <= _INT8_MAX:
            values.append(str(value).encode())
            types.append(INT8_OID)
        else:
            return None
    return values, types


def simple_query(conn: Any, waiter: Callable[[], object], command: bytes) -> list[Any]:
    """Send ``command`` in the simple query protocol; return its results, in order.

    Raises:
        psycopg.Error: The first result in error, as psycopg's error for it.
    """
    results, failed = simple_query_results(conn, waiter, command)
    if failed is not None:
        raise error_from(results[failed], conn)
    return results


def simple_query_results(
    conn: Any, waiter: Callable[[], object], command: bytes
) -> tuple[list[Any], int | None]:
    """Send ``command`` in the simple query protocol; return its results and the first failed one.

    The server stops at the first statement in error, so the failed one is the last result.

    Raises:
        psycopg.Error: When no result came (the connection is gone), or for a COPY.
    """
    pgconn = conn.pgconn
    with conn.lock:
        pgconn.send_query(command)
        wait_for_results(conn, waiter)
        return collect_results(conn)


def pipeline(
    conn: Any, waiter: Callable[[], object], statements: Sequence[Bound], *, commit: bool
) -> None:
    """Run ``statements``, then COMMIT if ``commit``, as one libpq pipeline (libpq ≥ 14).

    The server runs them in order; after the first error it skips the rest up to the sync, so
    the COMMIT runs only if every write landed, and the explicit transaction is left aborted
    (the caller rolls it back).

    Raises:
        psycopg.Error: The first statement in error, as psycopg's error for it.
    """
    if commit:
        statements = [*statements, _COMMIT]
    results, failed = pipeline_results(conn, waiter, statements)
    if failed is not None:
        raise error_from(results[failed], conn)


_COMMIT: Final[Bound] = (b"COMMIT", [], [])


def pipeline_results(
    conn: Any, waiter: Callable[[], object], statements: Sequence[Bound]
) -> tuple[list[Any], int | None]:
    """Run ``statements`` as one libpq pipeline; return each one's result and the first failed.

    Each statement is parsed on its own (the extended protocol), so an error's position and
    ``LINE`` are its own statement's. After the first error the server skips the rest up to the
    sync: their results are ``PIPELINE_ABORTED`` ones.

    Raises:
        psycopg.Error: When the connection is gone, or for a COPY.
    """
    pgconn = conn.pgconn
    with conn.lock:
        pgconn.enter_pipeline_mode()
        try:
            for command, values, types in statements:
                pgconn.send_query_params(command, values or None, types or None)
            pgconn.pipeline_sync()
            results, failed = _pipeline_results(conn, waiter, len(statements))
        except BaseException:
            conn.close()
            raise
        pgconn.exit_pipeline_mode()
    return results, failed


def _pipeline_results(
    conn: Any, readable: Callable[[], object], count: int
) -> tuple[list[Any], int | None]:
    """Each statement's first result, then the sync's; and the index of the first failed one."""
    pgconn = conn.pgconn
    results: list[Any] = []
    failed = None
    while pgconn.flush():  # non-blocking: the rest once the socket takes it
        _wait_writable(pgconn.socket)
    while True:
        result = _next_result(pgconn, readable)
        if result is None:  # nothing where a result was due: the connection is gone
            raise error_from(None, conn)
        status = result.status
        if status == _PIPELINE_SYNC:  # the sync's result follows the last statement's
            if len(results) < count:
                raise error_from(None, conn)
            return results, failed
        if status in _COPY_STATES:
            raise _copy_refused()
        if status == _FATAL_ERROR and failed is None:
            failed = len(results)
        results.append(result)
        # A statement's results end with a None (one result here: the extended protocol).
        while _next_result(pgconn, readable) is not None:
            pass


def _next_result(pgconn: Any, readable: Callable[[], object]) -> Any:
    """The next result of a pipeline, once it is in (None ends one statement's)."""
    while pgconn.is_busy():
        readable()
        pgconn.consume_input()
    return pgconn.get_result()


def wait_for_results(conn: Any, readable: Callable[[], object]) -> None:
    """Wait until the whole answer to the query just sent is in (see :func:`simple_query`)."""
    pgconn = conn.pgconn
    try:
        while pgconn.flush():  # non-blocking: the rest once the socket takes it
            _wait_writable(pgconn.socket)
        while pgconn.is_busy():
            readable()
            pgconn.consume_input()
    except BaseException:
        conn.close()
        raise


def collect_results(conn: Any) -> tuple[list[Any], int | None]:
    """The answer's results, and the index of the first in error (None when none failed).

    Raises:
        psycopg.Error: When there is no result at all (the connection is gone), or for a COPY.
    """
    pgconn = conn.pgconn
    results: list[Any] = []
    failed = None
    while (result := pgconn.get_result()) is not None:
        status = result.status
        if status in _COPY_STATES:  # a COPY the caller did not route to copy_from_stdin
            conn.close()
            raise _copy_refused()
        if status == _FATAL_ERROR and failed is None:
            failed = len(results)
        results.append(result)
    if not results:
        raise error_from(None, conn)
    return results, failed


def readable_waiter(fd: int) -> Callable[[], object]:
    """A call that blocks until ``fd`` is readable: one ``poll`` object kept per connection.

    ``select`` refuses descriptors above 1023, which a busy server process reaches.
    """
    if _poll is None:  # pragma: no cover - Windows
        return lambda: select.select((fd,), (), ())
    poller = _poll()
    poller.register(fd, select.POLLIN)
    wait: Callable[[], object] = poller.poll
    return wait


def _wait_writable(fd: int) -> None:
    if _poll is None:  # pragma: no cover - Windows
        select.select((), (fd,), ())
        return
    poller = _poll()
    poller.register(fd, select.POLLOUT)
    poller.poll()


_poll = getattr(select, "poll", None)


def _copy_refused() -> Exception:
    import psycopg  # noqa: PLC0415 - loaded already by the connection

    return psycopg.ProgrammingError("COPY cannot be used with this method; use copy() instead")


def error_from(result: Any, conn: Any) -> Exception:
    """The psycopg error for a failed result (or for no result: the connection is gone)."""
    import psycopg  # noqa: PLC0415 - loaded already by the connection

    if result is None:
        message = bytes(conn.pgconn.error_message).decode(errors="replace").strip()
        return psycopg.OperationalError(f"no result from the server: {message or 'closed'}")
    build = getattr(psycopg.errors, "error_from_result", None)
    if build is not None:
        return build(result, encoding=conn.info.encoding)  # type: ignore[no-any-return]
    message = bytes(result.error_message).decode(errors="replace")  # pragma: no cover
    return psycopg.DatabaseError(message)  # pragma: no cover - psycopg < 3.3 keeps it there too


def is_local(info: Any) -> bool:
    """Whether a connection reaches its server over a Unix socket or the loopback interface."""
    host = str(info.host or "")
    if not host or host.startswith(("/", "@")):
        return True
    try:
        address = str(info.hostaddr or host)
    except Exception:  # libpq < 12 has no PQhostaddr: judge by the name
        address = host
    return address in ("localhost", "::1") or address.startswith("127.")


def several_statements(result: Any) -> bool:
    """Whether the extended protocol refused a text for holding several statements.

    Told by SQLSTATE 42601 raised where the server parses a statement of the extended protocol
    (``exec_parse_message``, a name no translation changes), before any of the text runs.
    """
    state = result.error_field(_SQLSTATE_FIELD)
    source = result.error_field(_SOURCE_FUNCTION_FIELD)
    return bool(state == b"42601" and source == b"exec_parse_message")
