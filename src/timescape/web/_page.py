"""The dashboard's page: HTML, CSS and JavaScript, served by :mod:`timescape.web.dashboard`.

No framework, no external resource (the content security policy forbids them): the script polls
``/api/state`` and rebuilds each section with ``textContent``, so a name from a project file is
always text, never markup. The schema picture is the server's SVG, whose every text is escaped.
"""

from __future__ import annotations

__all__ = ["SCRIPT", "STYLE", "html"]


def html(*, refresh_ms: int) -> str:
    """The page, polling every ``refresh_ms`` milliseconds."""
    return _HTML.replace("{refresh_ms}", str(int(refresh_ms)))


_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Timescape dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body data-refresh-ms="{refresh_ms}">
<header>
  <h1>Timescape</h1>
  <span id="database" class="muted"></span>
  <span class="spacer"></span>
  <span id="updated" class="muted">loading…</span>
  <span id="health" class="dot" title="connection to the dashboard server"></span>
</header>
<main>
  <p id="error" class="banner" hidden></p>
  <section id="cards" class="cards" aria-label="summary"></section>
  <section>
    <h2>Versions per handler</h2>
    <div id="handlers"></div>
  </section>
  <section>
    <h2>Schema DAG</h2>
    <div class="legend">
      <span class="chip applied">applied</span><span class="chip pending">pending</span>
      <span class="chip failed">failed</span><span class="chip rolled_back">rolled back</span>
      <span class="chip interrupted">interrupted / uncertain</span>
      <span class="chip dashed">contract pending</span>
      <span class="badge">n</span> live versions on it
    </div>
    <p id="graph-note" class="muted" hidden></p>
    <div id="graph" class="graph"></div>
  </section>
  <section>
    <h2>Serving instances and drains</h2>
    <div id="instances"></div>
    <div id="drains"></div>
  </section>
  <section>
    <h2>History</h2>
    <div class="filters">
      <label>Event <select id="kind-filter"><option value="">all</option></select></label>
      <label>Subject <input id="subject-filter" type="search" placeholder="schema or TSV"></label>
      <label><input id="failures-filter" type="checkbox"> failures only</label>
      <span id="history-count" class="muted"></span>
    </div>
    <div id="history"></div>
  </section>
  <section>
    <h2>Verify</h2>
    <div id="verify"></div>
  </section>
</main>
<footer class="muted">Read-only. The page refreshes itself from the database.</footer>
</body>
</html>
"""

STYLE = """
:root { --fg:#212529; --muted:#6c757d; --line:#dee2e6; --bg:#f8f9fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
  color:var(--fg); background:var(--bg); }
header { display:flex; gap:12px; align-items:center; padding:10px 20px; background:#1b1f24;
  color:#fff; }
header h1 { font-size:18px; margin:0; }
header .muted { color:#adb5bd; }
.spacer { flex:1; }
main { padding:12px 20px 24px; max-width:1400px; margin:0 auto; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px;
  margin:12px 0; }
section.cards { display:flex; gap:12px; flex-wrap:wrap; background:none; border:0; padding:0; }
h2 { font-size:15px; margin:0 0 8px; }
h3 { font-size:13px; margin:12px 0 4px; font-family:ui-monospace,Menlo,Consolas,monospace; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 14px;
  min-width:130px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.mono, .mono { font-family:ui-monospace,Menlo,Consolas,monospace; font-size:12px; }
.muted { color:var(--muted); }
.chip { display:inline-block; padding:0 7px; border-radius:10px; font-size:12px;
  border:1px solid #ced4da; background:#f1f3f5; margin-right:4px; }
.chip.applied, .chip.live, .chip.hot { background:#d3f9d8; border-color:#2b8a3e; color:#2b8a3e; }
.chip.pending, .chip.inactive { background:#f1f3f5; border-color:#adb5bd; color:#495057; }
.chip.failed { background:#ffe3e3; border-color:#c92a2a; color:#c92a2a; }
.chip.rolled_back, .chip.cold { background:#e7f5ff; border-color:#1c7ed6; color:#1c7ed6; }
.chip.interrupted, .chip.uncertain, .chip.warm, .chip.retiring { background:#fff3bf;
  border-color:#e67700; color:#e67700; }
.chip.dashed { border-style:dashed; border-width:2px; }
.chip.tag { background:#edf2ff; border-color:#4c6ef5; color:#364fc7; }
.badge { display:inline-block; background:#fab005; border-radius:10px; padding:0 7px;
  font-weight:700; font-size:12px; }
.legend { margin-bottom:8px; color:var(--muted); font-size:12px; }
.graph { overflow:auto; max-height:520px; border:1px solid var(--line); border-radius:6px;
  background:#fff; }
.graph svg { display:block; margin:8px auto; }
.filters { display:flex; gap:16px; align-items:center; margin-bottom:8px; flex-wrap:wrap; }
.filters select, .filters input[type=search] { font:inherit; padding:2px 6px; }
.banner { background:#ffe3e3; color:#c92a2a; border:1px solid #c92a2a; border-radius:6px;
  padding:8px 12px; }
.ok { color:#2b8a3e; font-weight:600; }
.problem { color:#c92a2a; font-weight:600; }
.dot { width:10px; height:10px; border-radius:50%; background:#868e96; display:inline-block; }
.dot.up { background:#40c057; }
.dot.down { background:#fa5252; }
footer { padding:0 20px 16px; text-align:center; font-size:12px; }
"""

SCRIPT = r"""
"use strict";
(function () {
  const refreshMs = Math.max(250, Number(document.body.dataset.refreshMs) || 2000);
  let latest = null;
  let kinds = new Set();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function chip(text, kind) { return el("span", { className: "chip " + (kind || text) }, text); }
  function ago(iso) {
    if (!iso) return "never";
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 60) return Math.floor(seconds) + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }
  function table(headers, rows, attrs) {
    const head = el("tr", null, ...headers.map((h) => el("th", null, h)));
    const body = rows.map((cells) => {
      const row = el("tr", cells.attrs || null);
      for (const cell of cells) {
        const mono = cell && cell.mono !== undefined;
        const content = cell && cell.node ? cell.node : (mono ? cell.mono : cell);
        row.append(el("td", mono ? { className: "mono" } : null, content));
      }
      return row;
    });
    return el("table", attrs || null, el("thead", null, head), el("tbody", null, ...body));
  }
  function replace(id, ...nodes) { document.getElementById(id).replaceChildren(...nodes); }

  function renderCards(state) {
    const s = state.stats;
    const live = state.instances.filter((i) => !i.stale).length;
    const cards = [
      [s.live_versions + " / " + s.versions, "live versions"],
      [s.applied_schemas + " / " + s.schemas, "applied schemas"],
      [s.pending_schemas, "pending schemas"],
      [s.failed_schemas, "failed or uncertain"],
      [live, "serving instances"],
      [state.verify.ok ? "OK" : state.verify.problems.length, "verify"],
    ];
    replace("cards", ...cards.map(([value, label]) =>
      el("div", { className: "card" }, el("b", null, value), el("span", null, label))));
  }

  function renderHandlers(state) {
    if (!state.handlers.length) {
      replace("handlers", el("p", { className: "muted" },
        "No versions defined: add a [[versions]] table to the project file."));
      return;
    }
    const blocks = [];
    for (const group of state.handlers) {
      blocks.push(el("h3", null, group.handler));
      const rows = group.versions.map((v) => {
        const row = [
          { mono: v.tsv },
          v.timestamp ? v.timestamp.slice(0, 16).replace("T", " ") : "",
          { node: el("span", null, v.schema + " ",
            chip(v.schema_status.replace("_", " "), v.schema_status)) },
          { node: chip(v.state, v.state) },
          { node: v.active ? chip(v.status) : el("span", { className: "muted" }, "\u2013") },
          { node: el("span", null, ...v.tags.map((t) => chip(t, "tag"))) },
          v.request_count,
          ago(v.last_accessed),
        ];
        row.attrs = { "data-tsv": v.tsv, "data-state": v.state };
        return row;
      });
      blocks.push(table(["TSV", "TIMESTAMP", "SCHEMA", "STATE", "TRAFFIC", "TAGS", "REQUESTS",
        "LAST REQUEST"], rows, { className: "versions", "data-handler": group.handler }));
    }
    replace("handlers", ...blocks);
  }

  function renderGraph(state) {
    const note = document.getElementById("graph-note");
    note.hidden = !state.graph_note;
    note.textContent = state.graph_note || "";
    const holder = document.getElementById("graph");
    if (holder.dataset.svg === state.graph_svg) return;
    const svg = new DOMParser().parseFromString(state.graph_svg, "image/svg+xml").documentElement;
    holder.replaceChildren(document.importNode(svg, true));
    holder.dataset.svg = state.graph_svg;
  }

  function renderInstances(state) {
    const items = state.instances;
    if (!items.length) {
      replace("instances", el("p", { className: "muted", id: "no-instances" },
        "No registered instances: serving processes appear here once they start."));
    } else {
      replace("instances", table(["INSTANCE", "LABEL", "STARTED", "HEARTBEAT", "GENERATION",
        "IN FLIGHT", ""], items.map((i) => {
          const row = [
            { mono: i.name }, i.label || "\u2013", ago(i.started_at),
            i.heartbeat_age_s + " s ago", i.generation,
            Object.entries(i.in_flight).map(([t, n]) => t + ": " + n).join(", ") || "0",
            { node: i.stale ? chip("stale", "failed") : chip("live") },
          ];
          row.attrs = { "data-instance": i.id, "data-stale": String(i.stale) };
          return row;
        }), { id: "instances-table" }));
    }
    if (!state.drains.length) {
      replace("drains", el("p", { className: "muted" }, "No drain in progress."));
    } else {
      replace("drains", table(["RETIRING VERSION", "HANDLER", "SINCE", "IN FLIGHT", "HELD BY"],
        state.drains.map((d) => [{ mono: d.tsv }, d.handler, ago(d.retiring_since), d.in_flight,
          d.holders.join(", ") || "\u2013"]), { id: "drains-table" }));
    }
  }

  function renderHistory() {
    if (!latest) return;
    const kindFilter = document.getElementById("kind-filter");
    for (const event of latest.history) {
      if (!kinds.has(event.kind)) {
        kinds.add(event.kind);
        kindFilter.append(el("option", { value: event.kind }, event.kind));
      }
    }
    const kind = kindFilter.value;
    const subject = document.getElementById("subject-filter").value.trim().toLowerCase();
    const failures = document.getElementById("failures-filter").checked;
    const shown = latest.history.filter((e) =>
      (!kind || e.kind === kind) &&
      (!subject || e.subject.toLowerCase().includes(subject)) &&
      (!failures || /failed|interrupted|uncertain/.test(e.kind)));
    document.getElementById("history-count").textContent =
      shown.length + " of " + latest.history.length + " events";
    replace("history", table(["WHEN", "EVENT", "SUBJECT", "BY", "DURATION", "DETAIL"],
      shown.map((e) => {
        const detail = Object.entries(e.detail || {})
          .filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length))
          .map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ");
        const row = [ago(e.at), { node: chip(e.kind.replace(/_/g, " "),
          /failed|interrupted|uncertain/.test(e.kind) ? "failed" : "pending") },
          { mono: e.subject }, e.actor, e.duration_ms === null ? "\u2013" : e.duration_ms + " ms",
          { mono: detail }];
        row.attrs = { "data-kind": e.kind };
        return row;
      }), { id: "history-table" }));
  }

  function renderVerify(state) {
    const report = state.verify;
    if (report.ok && !report.problems.length) {
      replace("verify", el("p", { className: "ok" }, "OK: " + report.checked_schemas +
        " schema(s) checked, nothing needs attention."));
      return;
    }
    replace("verify", el("ul", null, ...report.problems.map((p) =>
      el("li", null, el("span", { className: "problem" }, p.kind), ": " + p.message))));
  }

  function render(state) {
    const banner = document.getElementById("error");
    if (state.error) {
      banner.hidden = false;
      banner.textContent = state.error.type + ": " + state.error.message;
      return;
    }
    banner.hidden = true;
    latest = state;
    document.getElementById("database").textContent = state.database;
    renderCards(state);
    renderHandlers(state);
    renderGraph(state);
    renderInstances(state);
    renderHistory();
    renderVerify(state);
    document.body.dataset.generatedAt = state.generated_at;
  }

  async function poll() {
    const health = document.getElementById("health");
    try {
      const response = await fetch("/api/state", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      render(await response.json());
      health.className = "dot up";
      document.getElementById("updated").textContent =
        "updated " + new Date().toLocaleTimeString();
    } catch (error) {
      health.className = "dot down";
      document.getElementById("updated").textContent = "server unreachable; retrying";
    } finally {
      window.setTimeout(poll, refreshMs);
    }
  }

  for (const id of ["kind-filter", "subject-filter", "failures-filter"]) {
    document.getElementById(id).addEventListener("input", renderHistory);
    document.getElementById(id).addEventListener("change", renderHistory);
  }
  window.timescapeLoadedAt = Date.now();
  poll();
})();
"""
