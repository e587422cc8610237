"""PostgreSQL lint checks for maintenance and DDL that take strong locks or rewrite a table.

Each check returns one reason per hit. None fires on a table created earlier in the same schema:
nothing else can be waiting on it. Lock levels are the ones the PostgreSQL manual lists for each
command (https://www.postgresql.org/docs/current/explicit-locking.html).
"""

from __future__ import annotations

from timescape.analysis._known import Known
from timescape.analysis._statement import Context, Statement, alter_parts, has_run
from timescape.analysis._text import Kind

__all__ = ["LOCK_CHECKS"]

# LOCK modes that still let other sessions write (below SHARE in the conflict table).
_WEAK_LOCKS = frozenset({"ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE"})

_VACUUM_OPTIONS = frozenset({"FULL", "ANALYZE", "VERBOSE", "FREEZE", "TRUE", "ON", "1"})


def _existing(name: str, known: Known) -> bool:
    return not name or not known.is_new(name)


def _index_on_new_table(name: str, known: Known) -> bool:
    info = known.indexes.get(name.rsplit(".", 1)[-1])
    return info is not None and known.is_new(info.table)


def _pg008(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("REINDEX") or "CONCURRENTLY" in cur.words():
        return []
    if cur.symbol() == "(":  # options: only CONCURRENTLY matters, and it was looked for above
        while not cur.is_done and cur.symbol() != ")":
            cur.skip()
        cur.skip()
    kind = cur.accept_any("INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM")
    name = cur.name()
    if (kind == "TABLE" and not _existing(name, known)) or (
        kind == "INDEX" and _index_on_new_table(name, known)
    ):
        return []
    what = f"{kind.lower()} {name}".strip()
    return [f"REINDEX {what} without CONCURRENTLY blocks writes (and reads using the index)"]


def _pg009(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("VACUUM"):
        return []
    words = cur.words()
    if "FULL" not in words or has_run(words, "FULL", "FALSE") or has_run(words, "FULL", "OFF"):
        return []
    last = cur.tokens[-1]
    name = ""
    if last.kind in {Kind.WORD, Kind.QUOTED} and last.text not in _VACUUM_OPTIONS:
        name = st.sql[last.start : last.end].strip('"').lower()
    if name and not _existing(name, known):
        return []
    target = name or "every table"
    return [f"VACUUM FULL rewrites {target} under ACCESS EXCLUSIVE: reads and writes wait"]


def _pg010(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("CLUSTER"):
        return []
    cur.accept("VERBOSE")
    name = cur.name()
    if name and not _existing(name, known):
        return []
    target = name or "every previously clustered table"
    return [f"CLUSTER rewrites {target} under ACCESS EXCLUSIVE: reads and writes wait"]


def _pg011(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("LOCK"):
        return []
    cur.accept("TABLE")
    cur.accept("ONLY")
    name = cur.name()
    words = cur.words()
    mode = "ACCESS EXCLUSIVE"
    if "IN" in words and "MODE" in words:
        mode = " ".join(words[words.index("IN") + 1 : words.index("MODE")])
    if mode in _WEAK_LOCKS or not _existing(name, known):
        return []
    return [
        f"LOCK {name} IN {mode} MODE blocks writes to {name} until the migration transaction ends"
    ]


def _alter_hits(st: Statement, known: Known, *run: str) -> tuple[str, list[list[str]]]:
    kind, name, parts = alter_parts(st)
    if kind != "TABLE" or not _existing(name, known):
        return name, []
    return name, [words for part in parts if has_run(words := part.words(), *run)]


def _pg012(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = []
    for mode in ("LOGGED", "UNLOGGED"):
        name, hits = _alter_hits(st, known, "SET", mode)
        reasons += [f"SET {mode} rewrites {name} under ACCESS EXCLUSIVE" for _ in hits[:1]]
    return reasons


def _pg013(st: Statement, known: Known, _: Context) -> list[str]:
    kind, name, parts = alter_parts(st)
    if not any(has_run(part.words(), "SET", "TABLESPACE") for part in parts):
        return []
    if kind == "INDEX" and _index_on_new_table(name, known):
        return []
    if kind == "TABLE" and name and not _existing(name, known):
        return []
    target = f"{kind.lower()} {name}".strip() if name else "every object in the tablespace"
    return [f"SET TABLESPACE copies {target} to the new tablespace under ACCESS EXCLUSIVE"]


def _pg014(st: Statement, known: Known, _: Context) -> list[str]:
    name, hits = _alter_hits(st, known, "DETACH", "PARTITION")
    return [
        f"DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on {name}"
        for words in hits
        if "CONCURRENTLY" not in words and "FINALIZE" not in words
    ]


def _pg015(st: Statement, _known: Known, _: Context) -> list[str]:
    kind, name, parts = alter_parts(st)
    if kind != "DOMAIN":
        return []
    reasons = []
    for part in parts:
        words = part.words()
        if words[:1] == ["ADD"] and not has_run(words, "NOT", "VALID"):
            reasons.append(
                f"ADD CONSTRAINT on domain {name} checks every column of that type, holding "
                "locks on their tables"
            )
        elif words[:3] == ["SET", "NOT", "NULL"]:
            reasons.append(f"SET NOT NULL on domain {name} scans every column of that type")
    return reasons


def _pg016(st: Statement, known: Known, _: Context) -> list[str]:
    kind, name, parts = alter_parts(st)
    if kind != "TABLE" or not _existing(name, known):
        return []
    return [
        f"ADD CONSTRAINT ... EXCLUDE builds its index on {name} under ACCESS EXCLUSIVE"
        for part in parts
        if (words := part.words())[:1] == ["ADD"] and "EXCLUDE" in words[:4]
    ]


def _pg017(st: Statement, _known: Known, _: Context) -> list[str]:
    words = st.cursor().words()
    if words[:1] != ["TRUNCATE"] or "CASCADE" not in words:
        return []
    return ["TRUNCATE ... CASCADE also empties every table with a foreign key to it"]


def _pg018(st: Statement, known: Known, _: Context) -> list[str]:
    kind, name, parts = alter_parts(st)
    if kind != "TABLE" or not _existing(name, known):
        return []
    reasons = []
    for part in parts:
        words = part.words()
        if words[:1] != ["ADD"] or words[1:2] in (["CONSTRAINT"], ["FOREIGN"]):
            continue
        if "REFERENCES" in words:
            target = part.name_after("REFERENCES")
            if target and known.is_new(target):
                continue
            reasons.append(
                f"ADD COLUMN ... REFERENCES {target or '?'} takes SHARE ROW EXCLUSIVE on "
                f"{target or 'the referenced table'}, blocking its writes"
            )
    return reasons


def _pg019(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("REFRESH", "MATERIALIZED", "VIEW") or cur.accept("CONCURRENTLY"):
        return []
    name = cur.name()
    if known.is_new_view(name):
        return []
    return [f"REFRESH MATERIALIZED VIEW {name} without CONCURRENTLY blocks reads of {name}"]


LOCK_CHECKS = (
    ("PG008", _pg008),
    ("PG009", _pg009),
    ("PG010", _pg010),
    ("PG011", _pg011),
    ("PG012", _pg012),
    ("PG013", _pg013),
    ("PG014", _pg014),
    ("PG015", _pg015),
    ("PG016", _pg016),
    ("PG017", _pg017),
    ("PG018", _pg018),
    ("PG019", _pg019),
)
