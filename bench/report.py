"""Render the results: one Markdown file per run and PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import math
import platform
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _dbs
from bench.bigfile import BigFileResult
from bench.bigfile import table as bigfile_table
from bench.chain import ChainSummary
from bench.coldstart import ColdResult
from bench.hotpath import HotResult
from bench.scale import ScaleResult

TOOL_LABELS = {"raw": "raw driver (floor)", "timescape": "Timescape", "alembic": "Alembic",
               "yoyo": "yoyo-migrations", "before": "Timescape before"}
COLORS = {"raw": "#7f7f7f", "timescape": "#1f77b4", "alembic": "#d62728", "yoyo": "#2ca02c",
          "before": "#9467bd"}


@dataclass
class Results:
    started: str
    command: str
    quick: bool
    rounds: int
    chain: list[ChainSummary] = field(default_factory=list)
    hot: list[HotResult] = field(default_factory=list)
    scale: list[ScaleResult] = field(default_factory=list)
    scale_cli: list[dict[str, Any]] = field(default_factory=list)
    cold: list[ColdResult] = field(default_factory=list)
    cold_pg: list[ColdResult] = field(default_factory=list)
    bigfile: list[BigFileResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)


def environment() -> dict[str, str]:
    import psutil

    env = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "sqlite": sqlite3.sqlite_version,
        "load average at start": " ".join(f"{x:.2f}" for x in psutil.getloadavg()),
    }
    for dist in ("timescape-db", "alembic", "SQLAlchemy", "yoyo-migrations", "psycopg",
                 "PyMySQL"):
        try:
            from importlib.metadata import version

            env[dist] = version(dist)
        except Exception:
            env[dist] = "?"
    for dialect in ("postgresql", "mysql"):
        if _dbs.available(dialect)[0]:
            with _dbs.admin_connection(dialect) as conn:
                cur = conn.cursor()
                cur.execute("SELECT version()")
                env[dialect] = str(cur.fetchone()[0]).split(" on ")[0]
    return env


def _x(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def _s(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


RSS_PHASES = (("peak RSS during apply", "maxrss_apply_mb", "rss_apply_over_raw_mb"),
              ("peak RSS, whole run", "maxrss_mb", "rss_over_raw_mb"))
"""Peak RSS read right after the apply (the phase issue 14's target names) and at the end of the
run (rollback included): label, ChainSummary attribute, and its same-round figure above raw."""


def chain_table(rows: list[ChainSummary], n: int | None = None) -> list[str]:
    rss_heads = "".join(f"| {label} | above raw " for label, _, _ in RSS_PHASES)
    out = [("| database | N | tool | apply | ratio to raw | apply CPU | rollback | ratio to raw "
            f"{rss_heads}|"), "|---|---:|---|" + "---:|" * (5 + 2 * len(RSS_PHASES))]
    for r in rows:
        if n is not None and r.n != n:
            continue
        rss = "".join(f" {_mb(getattr(r, peak), sign=False)} | {_mb(getattr(r, over))} |"
                      for _, peak, over in RSS_PHASES)
        out.append(f"| {_dbs.LABELS[r.dialect]} | {r.n:,} | {TOOL_LABELS[r.tool]} | "
                   f"{_s(r.apply_s)} | {_x(r.apply_ratio)} | {_s(r.cpu_apply_s)} | "
                   f"{_s(r.rollback_s)} | {_x(r.rollback_ratio)} |{rss}")
    return out


def _mb(value: float, *, sign: bool = True) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:+.1f} MB" if sign else f"{value:.1f} MB"


def versus(theirs_over_mine: float) -> str:
    """Say how Timescape compares with a peer, from the paired per-round ratio peer / Timescape.

    Above 1 Timescape was faster, below 1 slower; within 2 % either way it is "level" (the rounds'
    own spread is larger than that).
    """
    if math.isnan(theirs_over_mine) or theirs_over_mine <= 0:
        return "-"
    if abs(theirs_over_mine - 1) < 0.02:
        return "level"
    if theirs_over_mine > 1:
        return f"{theirs_over_mine:.2f}x faster"
    return f"{1 / theirs_over_mine:.2f}x slower"


def _before_ratio(res: Results, dialect: str, n: int, what: str) -> str:
    row = next((r for r in res.chain if r.dialect == dialect and r.n == n and r.tool == "before"),
               None)
    if row is None:
        return "-"
    return _x(row.apply_ratio if what == "apply" else row.rollback_ratio)


def summary_lines(res: Results) -> list[str]:
    """The short table for the README: Timescape against each peer, per database."""
    out = ["| workload | SQLite | PostgreSQL | MariaDB |", "|---|---:|---:|---:|"]
    largest = max((r.n for r in res.chain), default=0)

    def cell(dialect: str, tool: str, what: str) -> str:
        mine = [r for r in res.chain if r.dialect == dialect and r.n == largest]
        ts = next((r for r in mine if r.tool == "timescape"), None)
        other = next((r for r in mine if r.tool == tool), None)
        if ts is None or other is None:
            return "-"
        if tool == "raw":
            return _x(ts.apply_ratio if what == "apply" else ts.rollback_ratio)
        return versus(other.apply_vs_timescape if what == "apply" else other.rollback_vs_timescape)

    if res.chain:
        for tool, what, label in (
            ("raw", "apply", f"apply N={largest:,}: Timescape / raw driver"),
            ("alembic", "apply", f"apply N={largest:,}: vs Alembic"),
            ("yoyo", "apply", f"apply N={largest:,}: vs yoyo"),
            ("raw", "rollback", f"rollback N={largest:,}: Timescape / raw driver"),
            ("alembic", "rollback", f"rollback N={largest:,}: vs Alembic"),
            ("yoyo", "rollback", f"rollback N={largest:,}: vs yoyo"),
        ):
            out.append(f"| {label} | " + " | ".join(cell(d, tool, what) for d in _dbs.DIALECTS)
                       + " |")
        if any(r.tool == "before" for r in res.chain):
            out.extend(f"| {what} N={largest:,}: {TOOL_LABELS['before']} / raw driver | "
                       + " | ".join(_before_ratio(res, d, largest, what) for d in _dbs.DIALECTS)
                       + " |" for what in ("apply", "rollback"))
        tools = [t for t in ("timescape", "alembic", "yoyo", "before")
                 if any(r.tool == t for r in res.chain)]
        for label, peak, over in RSS_PHASES:
            for attr, suffix, sign in ((peak, "", False),
                                       (over, " above the raw driver (same round)", True)):
                for tool in tools:
                    values = [next((getattr(r, attr) for r in res.chain if r.dialect == d
                                    and r.n == largest and r.tool == tool), float("nan"))
                              for d in _dbs.DIALECTS]
                    out.append(f"| {label} N={largest:,}: {TOOL_LABELS[tool]}{suffix} | "
                               + " | ".join(_mb(v, sign=sign) for v in values) + " |")
    if res.scale:
        for dialect in _dbs.DIALECTS:
            sizes = sorted((s for s in res.scale if s.dialect == dialect), key=lambda s: s.size)
            if len(sizes) >= 2:
                lo, hi = sizes[0], sizes[-1]
                # The figure in its database's column.
                before = "| " * _dbs.DIALECTS.index(dialect)
                after = " |" * (len(_dbs.DIALECTS) - 1 - _dbs.DIALECTS.index(dialect))
                out.append(f"| activation #{hi.size:,} / #{lo.size:,} ({_dbs.LABELS[dialect]}; "
                           f"raw floor {hi.raw_median / lo.raw_median:.2f}x) {before}"
                           f"| {hi.activate_median / lo.activate_median:.2f}x "
                           f"({hi.activate_median * 1000:.1f} / {lo.activate_median * 1000:.1f} "
                           f"ms){after} |")
                out.append(f"| Timescape's own share (activation minus raw floor) #{hi.size:,} / "
                           f"#{lo.size:,}, wall; CPU ({_dbs.LABELS[dialect]}) {before}"
                           f"| {_growth(hi, lo)}; {_growth(hi, lo, cpu=True)}{after} |")
    return out


def _ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def _growth(hi: ScaleResult, lo: ScaleResult, *, cpu: bool = False, warm: bool = False) -> str:
    """Timescape's own share at the largest N over the smallest's, with both figures.

    ``warm``: from the rounds timed without cooling the caches first (see ``bench.scale``).
    """
    if warm:
        top, bottom = ((hi.warm_own_cpu_median, lo.warm_own_cpu_median) if cpu
                       else (hi.warm_own_median, lo.warm_own_median))
    else:
        top, bottom = ((hi.own_cpu_median, lo.own_cpu_median) if cpu
                       else (hi.own_median, lo.own_median))
    if math.isnan(top) or math.isnan(bottom) or bottom <= 0:
        return "—"
    return f"{top / bottom:.2f}x ({top * 1000:.1f} / {bottom * 1000:.1f} ms)"


def write_markdown(res: Results, path: Path, plots: list[Path]) -> None:
    quick = " (quick smoke run: few rounds, small N)" if res.quick else ""
    intro = (f"Command: `{res.command}`{quick}. Rounds per figure: {res.rounds}. Figures are "
             "medians; ratios are medians of the per-round ratios, each measured side by side "
             "in the same round.")
    lines = [f"# Timescape benchmarks — {res.started}", "", intro, ""]
    lines += ["## Environment", ""] + [f"- {k}: {v}" for k, v in res.environment.items()] + [""]
    if res.skipped:
        lines += ["Skipped: " + "; ".join(res.skipped), ""]
    if res.chain:
        about = ("Each migration: `CREATE TABLE t_i (…)`, `CREATE INDEX …`, `INSERT …`; rollback "
                 "`DROP TABLE t_i`. Fresh empty database and fresh process per run; definitions "
                 "are loaded inside the timing (Alembic/yoyo read their N files, Timescape "
                 "registers N schemas), imports are not. Peak RSS is the whole process "
                 "(workload 5), read right after the apply (before the bench counts the tables "
                 "through a second connection) and at the end of the run.")
        lines += ["## Summary", "", *summary_lines(res), ""]
        lines += ["## 1. Apply a chain of N schema versions, then roll it all back", "", about,
                  "", *chain_table(res.chain), ""]
    if res.hot:
        lines += ["## 2. Hot path (1,000 versions over 100 handlers, from memory)", "",
                  "| call | µs per call | ratio to dict.get |", "|---|---:|---:|"]
        lines += [f"| `{h.label}` | {h.usec:.3f} | {h.ratio:.1f}x |" for h in res.hot] + [""]
    if res.scale:
        about = ("Activation: a new version on a new schema extending one handler's chain, in a "
                 "warm instance (definitions and view loaded), then the raw floor (the same "
                 "`CREATE TABLE` and one history row through the raw driver; on SQLite on a "
                 "byte copy of the seeded file, through a connection opened in the same round). "
                 "Both timers start after a 64 MiB read has cooled the CPU caches, as a "
                 "service's other work would, at every size; as many rounds without it come "
                 "first, reported as *warm* (the method until 2026-12-06, but for the floor's "
                 f"file). Medians of {max(len(s.activate_s) for s in res.scale)} rounds each "
                 "(the rounds per figure above are the other workloads'). Reports: facade "
                 "calls on that instance right after.")
        header = ("| database | N | activate one more (median) | raw floor: same DDL + history row "
                  "| own share (paired; CPU) | warm rounds: activate; own share | schemas() "
                  "| versions() | stats() | load definitions | seed |")
        lines += ["## 3. Scale: N schemas and N versions in the state tables", "", about, "",
                  header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in res.scale:
            lines.append(f"| {_dbs.LABELS[s.dialect]} | {s.size:,} | {s.activate_median * 1000:.1f} ms "
                         f"| {s.raw_median * 1000:.1f} ms | {_ms(s.own_median)}; "
                         f"{_ms(s.own_cpu_median)} | {_ms(s.warm_activate_median)}; "
                         f"{_ms(s.warm_own_median)} | {_s(s.schemas_s)} | "
                         f"{_s(s.versions_s)} | {_s(s.stats_s)} | {_s(s.load_s)} | "
                         f"{s.seed_s:.0f} s |")
        lines.append("")
        lines += [("Growth from the smallest to the largest N. The floor grows too (SQLite's own "
                   "`CREATE TABLE` costs more in a schema of thousands of tables), so Timescape's "
                   "own share is the activation minus the raw floor timed right after it "
                   "(median of the pairs), in wall and in process CPU time. The last column is "
                   "the same from the warm rounds: there the smallest N finds the previous "
                   "round's code and data still in the caches and the largest does not, so "
                   "part of its growth is the caches':"), "",
                  ("| database | Timescape | raw floor | own share | own share, CPU "
                   "| warm rounds: own share (wall; CPU) |"),
                  "|---|---:|---:|---:|---:|---:|"]
        for dialect in _dbs.DIALECTS:
            rows = sorted((s for s in res.scale if s.dialect == dialect), key=lambda s: s.size)
            if len(rows) >= 2:
                lo, hi = rows[0], rows[-1]
                lines.append(f"| {_dbs.LABELS[dialect]} #{hi.size:,} / #{lo.size:,} | "
                             f"{hi.activate_median / lo.activate_median:.2f}x | "
                             f"{hi.raw_median / lo.raw_median:.2f}x | {_growth(hi, lo)} | "
                             f"{_growth(hi, lo, cpu=True)} | {_growth(hi, lo, warm=True)}; "
                             f"{_growth(hi, lo, cpu=True, warm=True)} |")
        lines.append("")
    if res.scale_cli:
        lines += ["CLI at scale (fresh process each, SQLite, median):", "",
                  "| N | command | time |", "|---:|---|---:|"]
        lines += [f"| {c['size']:,} | `{c['command']}` | {_s(c['seconds'])} |" for c in res.scale_cli]
        lines.append("")
    if res.cold:
        lines += ["## 4. Cold start (fresh process, small SQLite project)", "",
                  "| command | median | ratio to `python -c pass` |", "|---|---:|---:|"]
        lines += [f"| `{c.label}` | {c.seconds * 1000:.0f} ms | {c.ratio:.2f}x |" for c in res.cold]
        lines.append("")
    if res.cold_pg:
        lines += [("PostgreSQL: the same project, beside a `python -c` that imports psycopg, "
                   "connects and runs one SELECT on the state table (interleaved rounds, median):"),
                  "",
                  "| command | median | ratio to the raw status query |", "|---|---:|---:|"]
        lines += [f"| `{c.label}` | {c.seconds * 1000:.0f} ms | {c.ratio:.2f}x |"
                  for c in res.cold_pg]
        lines.append("")
    if res.bigfile:
        lines += ["## 8. One big file (Timescape against the raw driver, median of the rounds)", "",
                  *bigfile_table(res.bigfile), "",
                  ("Peak RSS is measured above the process's RSS after imports; the last column "
                  "matters for the 20 MB file only."), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    path.write_text("\n".join(lines))


def plots(res: Results, folder: Path, stem: str) -> list[Path]:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    made: list[Path] = []
    dialects = [d for d in _dbs.DIALECTS if any(r.dialect == d for r in res.chain)]
    if dialects:
        fig, axes = plt.subplots(1, len(dialects), figsize=(5 * len(dialects), 4), squeeze=False)
        for ax, dialect in zip(axes[0], dialects, strict=True):
            for tool, label in TOOL_LABELS.items():
                rows = sorted((r for r in res.chain if r.dialect == dialect and r.tool == tool),
                              key=lambda r: r.n)
                if rows:
                    ax.plot([r.n for r in rows], [r.apply_s for r in rows], marker="o",
                            label=label, color=COLORS[tool])
            ax.set_title(f"apply a chain — {_dbs.LABELS[dialect]}")
            ax.set_xlabel("N schema versions")
            ax.set_ylabel("seconds (median)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"{stem}-chain.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    if res.hot:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        labels = [h.label for h in res.hot][::-1]
        values = [h.usec for h in res.hot][::-1]
        ax.barh(labels, values, color=["#7f7f7f" if "floor" in lbl else "#1f77b4" for lbl in labels])
        ax.axvline(2.0, color="#d62728", linestyle="--", linewidth=1, label="target 2 µs")
        ax.set_xlabel("µs per call (median)")
        ax.set_title("hot path, 1,000 versions over 100 handlers")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"{stem}-hotpath.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    if res.scale:
        fig, ax = plt.subplots(figsize=(6, 4))
        for dialect in _dbs.DIALECTS:
            rows = sorted((s for s in res.scale if s.dialect == dialect), key=lambda s: s.size)
            if rows:
                ax.plot([s.size for s in rows], [s.activate_median * 1000 for s in rows],
                        marker="o", label=_dbs.LABELS[dialect])
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("schemas and versions already in the state tables")
        ax.set_ylabel("ms to activate one more (median)")
        ax.set_title("activation cost vs state size")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"{stem}-scale.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    return made
