"""The live versions a schema change touches: who needs each schema, and whom a change breaks.

``usage`` says which live versions need a schema (directly or through a descendant); the
compatibility gate refuses to apply a schema that would break one of them. Apart from the planners
because read-only questions need them too (``schema list``'s "used by",
``Timescape.compatibility``) without planning anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from timescape.errors import CompatibilityError
from timescape.model.catalog import Catalog
from timescape.model.plan.value import SchemaAction
from timescape.model.schema import SchemaVersion
from timescape.model.state import StateSnapshot

__all__ = [
    "Judge",
    "check_gate",
    "compatibility",
    "declared_judge",
    "needed_schemas",
    "resolve_judge",
    "usage",
]


Judge = Callable[[SchemaVersion], tuple[bool, str]]
"""Says whether a schema breaks older code, and why: ``(is_breaking, reason)``."""


def declared_judge(schema: SchemaVersion) -> tuple[bool, str]:
    """Judge a schema by its declaration alone: undeclared counts as breaking.

    Args:
        schema: The schema.

    Returns:
        ``(is_breaking, reason)``.
    """
    if schema.breaking is False:
        return False, "declared breaking = false"
    if schema.breaking is True:
        return True, "declared breaking"
    return True, "not declared compatible (undeclared changes count as breaking)"


def compatibility(
    catalog: Catalog, new: str, live: str, judge: Judge = declared_judge
) -> tuple[bool, str]:
    """Tell whether applying schema ``new`` keeps versions on schema ``live`` working.

    Args:
        catalog: The definitions.
        new: The schema to apply.
        live: A live version's schema.
        judge: How undeclared schemas are judged.

    Returns:
        ``(compatible, reason)``.
    """
    graph = catalog.graph
    # A live version may still run on a schema that was removed from the definitions: it has no
    # known ancestors, so only the declarations and the judge can vouch for ``new``.
    if new == live or (live in graph and new in graph.ancestors(live)):
        return True, f"{new} is part of {live}"
    return _compatibility_apart(catalog, new, live, judge)


def _compatibility_apart(catalog: Catalog, new: str, live: str, judge: Judge) -> tuple[bool, str]:
    """:func:`compatibility` once ``new`` is known not to be part of ``live``."""
    verdict = _Verdict(catalog, new, judge)
    declared = verdict.declared_with(live)
    return (True, declared) if declared is not None else verdict.judged()


class _Verdict:
    """:func:`_compatibility_apart` for one schema to apply, split by what each part depends on.

    The declarations are checked per live schema; the judge (which sees only the schema to
    apply) is asked once per plan and its answer reused, so a gate over many live versions asks
    it once instead of once per version. The outcome for each live version is the same.
    """

    __slots__ = ("_catalog", "_judge", "_judged", "_name", "_schema")

    def __init__(self, catalog: Catalog, name: str, judge: Judge) -> None:
        self._catalog = catalog
        self._name = name
        self._schema: SchemaVersion | None = None  # looked up when first needed, as before
        self._judge = judge
        self._judged: tuple[bool, str] | None = None

    @property
    def schema(self) -> SchemaVersion:
        """The schema to apply."""
        if self._schema is None:
            self._schema = self._catalog.schema(self._name)
        return self._schema

    def declared_with(self, live: str) -> str | None:
        """The reason when either side declares the two compatible, else None."""
        catalog, name = self._catalog, self._name
        if live in self.schema.compatible_with:
            return f"{name} declares compatible_with {live}"
        if catalog.has_schema(live) and name in catalog.schema(live).compatible_with:
            return f"{live} declares compatible_with {name}"
        return None

    def judged(self) -> tuple[bool, str]:
        """``(compatible, reason)`` without a declaration naming the live schema (asked once)."""
        judged = self._judged
        if judged is None:
            schema = self.schema
            if schema.breaking is True:
                judged = (False, "declared breaking")
            else:
                breaking, reason = self._judge(schema)
                judged = (not breaking, reason)
            self._judged = judged
        return judged


def usage(catalog: Catalog, snapshot: StateSnapshot) -> dict[str, list[str]]:
    """Compute, for each schema, the live TSVs that need it (directly or through a descendant).

    Args:
        catalog: The definitions (for the DAG).
        snapshot: The state (for which versions are live and on which schema).

    Returns:
        ``schema → sorted TSVs``; schemas nobody needs are absent.
    """
    result: dict[str, list[str]] = {}
    for tsv in snapshot.active_tsvs():
        for name in needed_schemas(catalog, snapshot.versions[tsv].schema):
            result.setdefault(name, []).append(tsv)
    return result


def needed_schemas(catalog: Catalog, schema: str) -> frozenset[str]:
    """The schemas a version on ``schema`` needs: it and its ancestors (itself, if undefined)."""
    if schema in catalog.graph:
        return catalog.graph.closure_of(schema)
    return frozenset([schema])


def check_gate(
    catalog: Catalog,
    snapshot: StateSnapshot,
    applies: Sequence[SchemaAction],
    live: Collection[str],
    judge: Judge,
    *,
    force: bool,
    forced: list[str],
) -> None:
    """Refuse to apply a schema that breaks a live version (the compatibility gate).

    Args:
        catalog: The definitions.
        snapshot: The state (for the schema of each live version).
        applies: The apply actions of the plan.
        live: The TSVs live while they run.
        judge: How undeclared schemas are judged.
        force: Override the refusal; the override is appended to ``forced``.
        forced: The plan's list of overrides.

    Raises:
        CompatibilityError: Naming every live version an action would break, unless ``force``.
    """
    graph = catalog.graph
    ordered = sorted(live)
    for action in applies:
        broken: list[str] = []
        reasons: list[str] = []
        # A schema nothing builds on yet (the usual new one) is part of no live version but its
        # own; otherwise ask each live schema's memoised closure.
        leaf = action.name not in graph or not graph.children(action.name)
        verdict = _Verdict(catalog, action.name, judge)
        for tsv in ordered:
            live_schema = snapshot.versions[tsv].schema
            if live_schema == action.name or (
                not leaf and live_schema in graph and action.name in graph.closure_of(live_schema)
            ):
                continue
            if verdict.declared_with(live_schema) is not None:
                continue
            ok, reason = verdict.judged()
            if ok:
                # The judge's word is about the schema alone: every further live version would
                # be let through the same way, so the gate stops here instead of asking again
                # per live version (a hundred at ten thousand schemas, issue 14).
                break
            broken.append(tsv)
            reasons.append(reason)
        if broken:
            if not force:
                raise CompatibilityError(action.name, broken, reasons)
            forced.append(f"compatibility gate overridden: {action.name} vs {', '.join(broken)}")


def resolve_judge(
    inferred: Mapping[str, tuple[bool, str]] | None,
) -> Judge:
    """Build a judge that uses inferred verdicts for undeclared schemas.

    Args:
        inferred: ``schema name → (is_breaking, reason)`` from SQL analysis, or None.

    Returns:
        A judge: explicit declarations win; otherwise the inferred verdict; otherwise breaking.
    """
    if not inferred:
        return declared_judge

    def judge(schema: SchemaVersion) -> tuple[bool, str]:
        if schema.breaking is not None:
            return declared_judge(schema)
        verdict = inferred.get(schema.name)
        return verdict if verdict is not None else declared_judge(schema)

    return judge
