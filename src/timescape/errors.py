"""The one exception tree of Timescape.

Every error Timescape raises on purpose is a :class:`TimescapeError`; the CLI maps each class to an
exit code through :attr:`TimescapeError.exit_code`, so a caller never parses messages::

    TimescapeError                 exit 1  (root)
    ├─ InputError                  exit 2  bad input: usage, definitions, refs, SQL text
    │  ├─ DefinitionError          file, key
    │  ├─ UnknownRefError          ref, handler            (also LookupError)
    │  ├─ SQLSplitError            line, reason
    │  └─ DriverMissingError       dialect, module, extra
    ├─ ConnectionFailedError       url (redacted)
    ├─ LockTimeoutError            holder, waited_s
    ├─ CompatibilityError          schema, broken_versions
    ├─ RollbackRefusedError        schema, used_by
    ├─ ProtectedVersionError       tsv, tags
    ├─ DrainTimeoutError           tsvs, holders, waited_s
    ├─ RetirementCancelledError    tsvs
    ├─ MigrationError              schema, step, file, line, statement
    │  ├─ MigrationTimeoutError    timeout_s
    │  └─ MigrationInterruptedError  Ctrl-C (exit 130)
    └─ StateError                  the timescape_* tables disagree with reality
       ├─ DriftError               schema, step, stored, current
       ├─ InterruptedMigrationError  schema, status
       └─ StateFormatError         found, supported

Messages name the thing, the problem and the next step. Facts are attributes, so ``--json`` can
carry them without parsing prose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CompatibilityError",
    "ConnectionFailedError",
    "DefinitionError",
    "DrainTimeoutError",
    "DriftError",
    "DriverMissingError",
    "InputError",
    "InterruptedMigrationError",
    "LockTimeoutError",
    "MigrationError",
    "MigrationInterruptedError",
    "MigrationTimeoutError",
    "ProtectedVersionError",
    "RetirementCancelledError",
    "RollbackRefusedError",
    "SQLSplitError",
    "StateError",
    "StateFormatError",
    "TimescapeError",
    "UnknownRefError",
]


class TimescapeError(Exception):
    """Root of every error Timescape raises on purpose.

    Attributes:
        exit_code: The CLI exit status for this class: 1 for operational failures, 2 for bad input.
    """

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        """Store the message; subclasses build it from their facts."""
        super().__init__(message)
        self.message = message

    def facts(self) -> dict[str, Any]:
        """Return the structured facts of this error, for ``--json`` and event rows.

        Returns:
            A JSON-serialisable mapping of attribute name to value (the message excluded).
        """
        skip = {"message", "args"}
        return {
            key: _jsonable(value)
            for key, value in vars(self).items()
            if key not in skip and not key.startswith("_")
        }


def _jsonable(value: object) -> object:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_jsonable(v) for v in value]
    return str(value)


class InputError(TimescapeError):
    """The user asked for something malformed or impossible; nothing was changed."""

    exit_code = 2


class DefinitionError(InputError, ValueError):
    """A schema or version definition is invalid (from a project file or the Python API).

    Attributes:
        file: The project file the definition came from, if any.
        key: The dotted key or name that is wrong, e.g. ``schemas[2].parent``.
        line: The line in ``file``, where known.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        """Build the message from where the problem is and what it is."""
        where = ""
        if file:
            where = file + (f":{line}" if line else "")
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {problem}" if where else problem)
        self.problem = problem
        self.file = file
        self.key = key
        self.line = line


class UnknownRefError(InputError, LookupError):
    """A version ref (TSV, tag, timestamp) or schema name resolves to nothing, or to several things.

    Attributes:
        ref: The ref as given.
        handler: The handler it was looked up in, if any.
    """

    def __init__(self, ref: str, *, handler: str | None = None, reason: str | None = None) -> None:
        """Build the message, naming the handler when one was given."""
        scope = f" in handler {handler}" if handler else ""
        detail = reason or "no such version, tag or schema"
        super().__init__(f"unknown ref {ref!r}{scope}: {detail}")
        self.ref = ref
        self.handler = handler
        self.reason = detail


class SQLSplitError(InputError):
    """Migration SQL could not be split into statements safely; nothing was executed.

    Attributes:
        line: 1-based line where the unterminated construct starts.
        reason: What is unterminated or unsupported.
    """

    def __init__(self, reason: str, *, line: int) -> None:
        """Build the message from the line and the reason."""
        super().__init__(f"cannot split SQL at line {line}: {reason}")
        self.reason = reason
        self.line = line


class DriverMissingError(InputError):
    """The database driver for a URL's scheme cannot be imported (exit 2).

    Attributes:
        dialect: ``postgresql`` or ``mysql``.
        module: The module that failed to import (``psycopg``, ``pymysql``).
        extra: The ``timescape-db`` extra that installs it.

    Added in 0.2.
    """

    def __init__(self, *, dialect: str, module: str, extra: str, reason: str | None = None) -> None:
        """Build the message: which driver is missing and the command that installs it."""
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"the {dialect} driver {module} is not installed{why}; install it with: "
            f"pip install 'timescape-db[{extra}]'"
        )
        self.dialect = dialect
        self.module = module
        self.extra = extra


class ConnectionFailedError(TimescapeError):
    """The database could not be reached or refused the connection.

    Attributes:
        url: The database URL with the password masked.
    """

    def __init__(self, url: str, reason: str) -> None:
        """Build the message; ``url`` must already be redacted by the caller."""
        super().__init__(f"cannot connect to {url}: {reason}")
        self.url = url
        self.reason = reason


class LockTimeoutError(TimescapeError):
    """The Timescape lock was not acquired within ``lock_timeout``; nothing was changed.

    Attributes:
        holder: Who holds the lock (pid, host, application, since), as far as the server tells.
        waited_s: Seconds waited.
    """

    def __init__(self, *, holder: str | None, waited_s: float) -> None:
        """Build the message naming the holder."""
        who = holder or "another Timescape process"
        super().__init__(
            f"could not get the Timescape lock within {waited_s:.1f} s: held by {who}. "
            "Wait for it to finish, or raise lock_timeout."
        )
        self.holder = holder
        self.waited_s = round(waited_s, 3)


class CompatibilityError(TimescapeError):
    """Applying a schema would break live versions; refused before anything ran.

    Attributes:
        schema: The schema that would be applied.
        broken_versions: The live TSVs it would break.
        reasons: One reason per broken version, aligned with ``broken_versions``.
    """

    def __init__(
        self, schema: str, broken_versions: Sequence[str], reasons: Sequence[str] = ()
    ) -> None:
        """Build the message naming every live version that would break."""
        parts = []
        for i, tsv in enumerate(broken_versions):
            why = reasons[i] if i < len(reasons) and reasons[i] else "not declared compatible"
            parts.append(f"{tsv} ({why})")
        super().__init__(
            f"schema {schema!r} would break live version(s) {', '.join(parts)}. "
            "Deactivate those versions first, declare compatible_with / breaking = false, "
            "or pass --force."
        )
        self.schema = schema
        self.broken_versions = list(broken_versions)
        self.reasons = list(reasons)


class RollbackRefusedError(TimescapeError):
    """A rollback was refused: the schema is in use, irreversible, or its scripts drifted.

    Attributes:
        schema: The schema whose rollback was refused.
        used_by: Live TSVs that still need it (empty when refused for another reason).
    """

    def __init__(
        self, schema: str, *, used_by: Sequence[str] = (), reason: str | None = None
    ) -> None:
        """Build the message from the reason or the list of users."""
        if reason is None:
            reason = (
                f"still used by live version(s) {', '.join(used_by)}. "
                "Deactivate them first, or pass --force."
            )
        super().__init__(f"cannot roll back schema {schema!r}: {reason}")
        self.schema = schema
        self.used_by = list(used_by)
        self.reason = reason


class ProtectedVersionError(TimescapeError):
    """Deactivating a version with a protected tag (``stable``, ...) was refused without force.

    Attributes:
        tsv: The version.
        tags: Its protected tags.
    """

    def __init__(self, tsv: str, tags: Sequence[str]) -> None:
        """Build the message naming the protected tags."""
        super().__init__(
            f"version {tsv} carries protected tag(s) {', '.join(tags)}; pass --force to "
            "deactivate it anyway"
        )
        self.tsv = tsv
        self.tags = list(tags)


class MigrationError(TimescapeError):
    """A migration or rollback step failed on the server.

    Attributes:
        schema: The schema being applied or rolled back.
        step: 1-based step index.
        file: The step's file, when loaded from ``dir``.
        line: Line of the failing statement in that file.
        statement: The failing statement (truncated).
        reason: The server's message.
        phase: ``"apply"`` or ``"rollback"``.
    """

    def __init__(
        self,
        *,
        schema: str,
        step: int | None,
        reason: str,
        statement: str | None = None,
        file: str | None = None,
        line: int | None = None,
        phase: str = "apply",
        detail: str | None = None,
    ) -> None:
        """Build the one-line message: schema, step, file:line and the server's reason."""
        where = f"schema {schema!r}"
        if step is not None:
            where += f" {'rollback ' if phase == 'rollback' else ''}step {step}"
        if file:
            where += f" ({file}{f':{line}' if line else ''})"
        msg = f"{where} failed: {reason}"
        if detail:
            msg += f". {detail}"
        super().__init__(msg)
        self.schema = schema
        self.step = step
        self.file = file
        self.line = line
        self.statement = _truncate(statement)
        self.reason = reason
        self.phase = phase


class MigrationTimeoutError(MigrationError):
    """A schema's ``migration_timeout`` ran out; the running statement was cancelled on the server.

    Attributes:
        timeout_s: The budget that ran out.
    """

    def __init__(
        self,
        *,
        schema: str,
        step: int | None,
        timeout_s: float,
        statement: str | None = None,
        file: str | None = None,
        line: int | None = None,
        phase: str = "apply",
        detail: str | None = None,
    ) -> None:
        """Build the message: timed out after N s in step k."""
        super().__init__(
            schema=schema,
            step=step,
            reason=f"timed out after {timeout_s:g} s in step {step} (cancelled on the server)",
            statement=statement,
            file=file,
            line=line,
            phase=phase,
            detail=detail,
        )
        self.timeout_s = timeout_s


class MigrationInterruptedError(MigrationError):
    """Ctrl-C stopped a step: the running statement was cancelled on the server (exit 130).

    The schema is recorded ``interrupted`` (nothing of the step remains: retry it) or
    ``uncertain`` (the statement may have written: check, then ``schema resolve``). In the Python
    API it takes the place of the ``KeyboardInterrupt`` of the first Ctrl-C during a run, when
    the run is in the main thread and SIGINT has Python's default handler; a second Ctrl-C
    raises ``KeyboardInterrupt``.

    Added in 0.2.
    """

    exit_code = 130

    def __init__(
        self,
        *,
        schema: str,
        step: int | None,
        statement: str | None = None,
        file: str | None = None,
        line: int | None = None,
        phase: str = "apply",
        detail: str | None = None,
    ) -> None:
        """Build the message: interrupted in step k, and what to run next."""
        super().__init__(
            schema=schema,
            step=step,
            reason=f"interrupted (Ctrl-C) in step {step}; the statement was cancelled on the "
            "server",
            statement=statement,
            file=file,
            line=line,
            phase=phase,
            detail=detail
            or "Run timescape verify to see the state, then run the command again to retry",
        )


class DrainTimeoutError(TimescapeError):
    """Serving instances still held a retiring version when the drain timeout ran out.

    Nothing was rolled back: the version stays *retiring* (no instance routes new requests to it)
    and running the same command again continues the drain.

    Attributes:
        tsvs: The versions being retired.
        holders: One entry per instance that did not let go: ``host pid N (id): why``.
        waited_s: Seconds waited.

    Added in 0.2.
    """

    def __init__(self, tsvs: Sequence[str], holders: Sequence[str], *, waited_s: float) -> None:
        """Build the message naming every instance that did not acknowledge."""
        super().__init__(
            f"{', '.join(tsvs)} is still held after {waited_s:.1f} s by "
            f"{len(holders)} instance(s): {'; '.join(holders)}. Nothing was rolled back; the "
            "version stays retiring (not routed). Run the command again to keep waiting, raise "
            "--drain-timeout, or pass --no-drain to roll back anyway"
        )
        self.tsvs = list(tsvs)
        self.holders = list(holders)
        self.waited_s = round(waited_s, 3)


class RetirementCancelledError(TimescapeError):
    """A version being drained was activated again by another run; it was not deactivated.

    Attributes:
        tsvs: The versions that are live again.

    Added in 0.2.
    """

    def __init__(self, tsvs: Sequence[str]) -> None:
        """Build the message."""
        super().__init__(
            f"{', '.join(tsvs)} was activated again while its deactivation waited for the "
            "instances to drain; it stays live. Deactivate it again if that is still wanted"
        )
        self.tsvs = list(tsvs)


class StateError(TimescapeError):
    """The state tables disagree with the definitions or with reality."""


class DriftError(StateError):
    """An applied step's definition changed since it was applied.

    Attributes:
        schema: The drifted schema.
        step: 1-based step index (None when the schema vanished from the project).
        stored: Checksum stored when applied (``kind="algorithm"``: the unknown algorithm).
        current: Checksum of the definition now (``kind="algorithm"``: the known algorithms).
        kind: ``migration`` or ``rollback`` script; ``algorithm`` when the stored checksums use an
            algorithm this Timescape cannot verify (a newer release wrote them).
    """

    def __init__(
        self,
        schema: str,
        *,
        step: int | None,
        stored: str | None,
        current: str | None,
        kind: str = "migration",
    ) -> None:
        """Build the message naming both checksums."""
        if kind == "algorithm":
            what = (
                f"schema {schema!r} was applied with checksum algorithm {stored}, which this "
                f"Timescape cannot verify (it knows {current}): a newer Timescape wrote it. "
                "Upgrade Timescape to verify it"
            )
        elif step is None:
            what = f"schema {schema!r} is applied but no longer defined in the project"
        else:
            what = (
                f"schema {schema!r} {kind} step {step} was applied with checksum {stored}, "
                f"definition now {current}"
            )
        super().__init__(
            f"{what}. Restore the original definition, or pass --force to proceed anyway."
        )
        self.schema = schema
        self.step = step
        self.stored = stored
        self.current = current
        self.kind = kind


class InterruptedMigrationError(StateError):
    """A schema is ``uncertain``/``interrupted``/``failed`` in a way that needs an operator.

    Attributes:
        schema: The schema.
        status: Its status in the state tables.
    """

    def __init__(self, schema: str, *, status: str, detail: str) -> None:
        """Build the message with the detail and what to do next."""
        super().__init__(f"schema {schema!r} is {status}: {detail}")
        self.schema = schema
        self.status = status
        self.detail = detail


class StateFormatError(StateError):
    """The state tables were written by a newer Timescape, or are damaged.

    Attributes:
        found: The format version found in the database.
        supported: The newest format this Timescape understands.
    """

    def __init__(self, *, found: int | None, supported: int, detail: str | None = None) -> None:
        """Build the message comparing the two format versions."""
        if detail is None:
            detail = (
                f"state format {found} is newer than this Timescape ({supported}); "
                "upgrade Timescape before changing this database"
            )
        super().__init__(detail)
        self.found = found
        self.supported = supported


def _truncate(text: str | None, limit: int = 500) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "…"
