// The weft web view: the workflow list and a run's page. Plain JavaScript
// and SVG. Every value from the store goes into the page as text
// (textContent, attribute values), never as HTML.
"use strict";

const CSRF = document.querySelector('meta[name="weft-csrf"]').content;
const READ_ONLY = document.querySelector('meta[name="weft-read-only"]').content === "true";
const EVENTS_PER_PAGE = 200;
const MAX_LANES = 300;
const SVG = "http://www.w3.org/2000/svg";

// el("td", {class: "id"}, "text", child...): an element; strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

function when(text) {
  if (!text) return "";
  const d = new Date(text);
  return isNaN(d) ? String(text) : d.toISOString().replace("T", " ").replace("Z", " UTC");
}

function statusBadge(run) {
  const status = run.held ? "held" : run.status;
  return el("span", { class: `status ${status}`, "data-status": status }, status.replace(/_/g, " "));
}

function json(value) {
  return el("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

function showError(where, error) {
  where.replaceChildren(el("div", { class: "error", role: "alert" }, error.message || String(error)));
}

const main = () => document.getElementById("main");
let closeLive = () => {};

function navigate(url) {
  history.pushState(null, "", url);
  route();
}

function link(href, text, attrs) {
  return el("a", Object.assign({ href, onclick: (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(href);
  } }, attrs || {}), text);
}

function route() {
  closeLive();
  closeLive = () => {};
  document.getElementById("live").hidden = true;
  const params = new URLSearchParams(location.search);
  if (location.pathname === "/run") runPage(params);
  else listPage(params);
}

// ---------- The list ----------

async function listPage(params) {
  const status = params.get("status") || "";
  const type = params.get("type") || "";
  const prefix = params.get("prefix") || "";
  const page = params.get("page") || "";
  document.getElementById("crumb").replaceChildren("workflows");
  document.title = "weft: workflows";
  const root = main();
  let data;
  try {
    data = await api(`/api/workflows${query({ status, type, prefix, page })}`);
  } catch (error) {
    root.replaceChildren(el("h1", {}, "Workflows"), el("div", { class: "error", role: "alert" }, error.message));
    return;
  }
  const here = (change) => `/${query(Object.assign({ status, type, prefix }, change))}`;
  const typeInput = el("input", { name: "type", placeholder: "workflow type", value: type });
  const prefixInput = el("input", { name: "prefix", placeholder: "workflow id prefix", value: prefix });
  const statusSelect = el("select", { name: "status" },
    el("option", { value: "" }, "any status"),
    data.statuses.map((s) => el("option", { value: s, selected: s === status }, s.replace(/_/g, " "))));
  const form = el("form", { class: "filters", id: "filters", onsubmit: (e) => {
    e.preventDefault();
    navigate(here({ status: statusSelect.value, type: typeInput.value.trim(), prefix: prefixInput.value }));
  } }, statusSelect, typeInput, prefixInput, el("button", { type: "submit" }, "Filter"),
  (status || type || prefix) ? link("/", "clear") : null);
  statusSelect.addEventListener("change", () => form.requestSubmit());

  const counts = data.counts;
  const countButton = (s, label, n) => el("button", {
    type: "button", class: s === status ? "on" : "", "data-count": s || "all",
    onclick: () => navigate(here({ status: s })),
  }, `${label} ${n}`);
  const countBar = el("div", { class: "counts", id: "counts" },
    countButton("", "all", counts.total),
    data.statuses.filter((s) => counts.by_status[s]).map((s) => countButton(s, s.replace(/_/g, " "), counts.by_status[s])),
    counts.held ? el("span", { class: "status held" }, `held ${counts.held}`) : null);

  const rows = data.workflows.map((w) => el("tr", { class: "run", "data-workflow-id": w.workflow_id },
    el("td", { class: "id" }, link(`/run${query({ id: w.workflow_id, run: w.run_id })}`, w.workflow_id)),
    el("td", {}, w.workflow_type),
    el("td", {}, statusBadge(w)),
    el("td", {}, when(w.start_time)),
    el("td", {}, when(w.close_time)),
    el("td", {}, w.history_length),
    el("td", { class: "id muted" }, w.run_id)));
  const table = el("table", { id: "runs" },
    el("thead", {}, el("tr", {}, ["workflow id", "type", "status", "started", "closed", "events", "run id"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
  const pager = el("div", { class: "pager" },
    page ? el("button", { type: "button", onclick: () => history.back() }, "← newer") : null,
    page ? link(here({}), "first page") : null,
    data.next_page_token ? el("button", { type: "button", id: "next-page",
      onclick: () => navigate(here({ page: data.next_page_token })) }, "older →") : null);
  root.replaceChildren(el("h1", {}, "Workflows"), form, countBar,
    rows.length ? table : el("p", { class: "muted", id: "empty" }, "No workflows match."), pager);
}

// ---------- A run ----------

async function runPage(params) {
  const id = params.get("id");
  const runId = params.get("run") || "";
  const root = main();
  document.getElementById("crumb").replaceChildren(link("/", "workflows"), " / ", id === null ? "?" : id);
  if (id === null) {
    showError(root, new Error("No workflow id: the address needs ?id=WORKFLOW_ID."));
    return;
  }
  document.title = `weft: ${id}`;
  let data;
  try {
    data = await api(`/api/run${query({ id, run: runId })}`);
  } catch (error) {
    root.replaceChildren(el("h1", {}, id), el("div", { class: "error", role: "alert", id: "run-error" }, error.message));
    return;
  }
  const run = data.run;
  const state = { events: [], typeFilter: "", page: 0, expanded: new Set() };
  const facts = el("div", { id: "facts" });
  const actions = el("div", { class: "actions", id: "actions" });
  const io = el("div", { class: "grid2", id: "io" });
  const pending = el("div", { id: "pending" });
  const timeline = el("div", { class: "timeline", id: "timeline" });
  const historyBox = el("div", { id: "history" });
  root.replaceChildren(el("h1", {}, run.workflow_id), facts, actions, io, pending,
    el("h2", {}, "Timeline"), timeline, el("h2", {}, "History"), historyBox);

  const render = (d) => {
    renderFacts(facts, d.run);
    renderActions(actions, d.run, d.read_only);
    renderIo(io, d);
    renderPending(pending, d.run);
    if (d.timeline) renderTimeline(timeline, d.timeline, d.run);
    else timeline.replaceChildren(el("p", { class: "muted" }, "No timeline: the history cannot be read."));
  };
  render(data);

  if (data.history_error) {
    historyBox.replaceChildren(el("div", { class: "error", role: "alert", id: "history-error" },
      `The history cannot be read: ${data.history_error}`));
    return;
  }
  try {
    state.events = await api(`/api/history${query({ id, run: run.run_id })}`);
  } catch (error) {
    showError(historyBox, error);
    return;
  }
  renderHistory(historyBox, state, run);

  if (run.status === "running") {
    const source = new EventSource(`/api/live${query({ id, run: run.run_id, after: state.events.length })}`);
    const badge = document.getElementById("live");
    badge.hidden = false;
    source.addEventListener("events", (message) => {
      const d = JSON.parse(message.data);
      const known = state.events.length ? state.events[state.events.length - 1].event_id : 0;
      for (const event of d.events || []) if (event.event_id > known) state.events.push(event);
      render(d);
      renderHistory(historyBox, state, d.run);
    });
    const stop = () => { source.close(); badge.hidden = true; };
    source.addEventListener("closed", stop);
    source.addEventListener("failed", (message) => { stop(); showError(historyBox, new Error(message.data)); });
    closeLive = stop;
  }
}

function renderFacts(box, run) {
  const rows = [
    ["status", statusBadge(run)],
    ["type", run.workflow_type],
    ["run id", run.run_id],
    ["started", when(run.start_time)],
    ["closed", when(run.close_time)],
    ["events", run.history_length],
  ];
  if (run.held) rows.push(["held", `${run.held} (since ${when(run.held_since)})`]);
  if (run.timeout_at) rows.push(["times out", when(run.timeout_at)]);
  if (run.parent) rows.push(["parent", link(`/run${query({ id: run.parent.workflow_id, run: run.parent.run_id })}`, run.parent.workflow_id)]);
  if (run.continued_from_run_id) rows.push(["continues", link(`/run${query({ id: run.workflow_id, run: run.continued_from_run_id })}`, run.continued_from_run_id)]);
  if (run.continued_as_run_id) rows.push(["continued as", link(`/run${query({ id: run.workflow_id, run: run.continued_as_run_id })}`, run.continued_as_run_id)]);
  box.replaceChildren(el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k }, v)])));
}

function renderActions(box, run, readOnly) {
  if (readOnly || READ_ONLY || run.status !== "running") {
    box.replaceChildren();
    return;
  }
  const act = (what, label) => el("button", { type: "button", class: what === "terminate" ? "danger" : "", id: what, onclick: async () => {
    const reason = window.prompt(`${label} workflow ${run.workflow_id}? Reason:`, `${what === "cancel" ? "cancelled" : "terminated"} from the web view`);
    if (reason === null) return;
    try {
      await api(`/api/${what}`, { method: "POST", headers: { "content-type": "application/json", "x-weft-csrf": CSRF },
        body: JSON.stringify({ id: run.workflow_id, reason }) });
      box.replaceChildren(el("p", { class: "notice", id: "action-result" }, `${label} requested; the page follows the run.`));
    } catch (error) {
      box.replaceChildren(el("div", { class: "error", role: "alert", id: "action-result" }, error.message));
    }
  } }, label);
  box.replaceChildren(act("cancel", "Cancel"), act("terminate", "Terminate"));
}

function renderIo(box, d) {
  const started = d.started && d.started.attributes;
  const closed = d.closed;
  const outcome = [];
  if (closed) {
    const a = closed.attributes || {};
    if ("result" in a) outcome.push(el("h2", {}, "Result"), json(a.result));
    if (a.failure) outcome.push(el("h2", {}, "Failure"), failureView(a.failure));
    if (a.reason) outcome.push(el("h2", {}, "Reason"), el("pre", { class: "json" }, a.reason));
    if (a.timeout) outcome.push(el("h2", {}, "Timed out"), el("pre", { class: "json" }, `${a.timeout} timeout`));
    if (a.new_run_id) outcome.push(el("h2", {}, "Continued as new"), el("pre", { class: "json" }, a.new_run_id));
    if (!outcome.length) outcome.push(el("h2", {}, closed.event_type));
  } else {
    outcome.push(el("h2", {}, "Result"), el("p", { class: "muted" }, "Open: no result yet."));
  }
  box.replaceChildren(el("div", { id: "input" }, el("h2", {}, "Input"), started ? json(started.input) : el("p", { class: "muted" }, "unknown")),
    el("div", { id: "outcome" }, outcome));
}

function failureView(failure) {
  const chain = [];
  for (let f = failure; f; f = f.cause) chain.push(el("li", {}, f.message || JSON.stringify(f)));
  return el("div", { class: "failure" }, el("ol", {}, chain), el("details", {}, el("summary", {}, "as JSON"), json(failure)));
}

function renderPending(box, run) {
  const parts = [];
  if (run.pending_activities.length) {
    parts.push(el("h2", {}, "Pending activities"), el("table", { id: "pending-activities" },
      el("thead", {}, el("tr", {}, ["activity", "state", "attempt", "last failure", "next attempt"].map((h) => el("th", {}, h)))),
      el("tbody", {}, run.pending_activities.map((a) => el("tr", {},
        el("td", { class: "id" }, `${a.activity_type} (${a.activity_id})`),
        el("td", {}, a.state + (a.cancel_requested ? " (cancel requested)" : "")),
        el("td", {}, a.attempt),
        el("td", { class: "id" }, a.last_failure ? a.last_failure.message : ""),
        el("td", {}, when(a.next_attempt_time)))))));
  }
  if (run.pending_timers.length) {
    parts.push(el("h2", {}, "Pending timers"), el("table", { id: "pending-timers" },
      el("thead", {}, el("tr", {}, ["started event", "fires"].map((h) => el("th", {}, h)))),
      el("tbody", {}, run.pending_timers.map((t) => el("tr", {}, el("td", {}, t.started_event_id), el("td", {}, when(t.fire_time)))))));
  }
  if (run.children.length) {
    parts.push(el("h2", {}, "Child workflows"), el("table", { id: "children" },
      el("thead", {}, el("tr", {}, ["workflow id", "type", "state"].map((h) => el("th", {}, h)))),
      el("tbody", {}, run.children.map((c) => el("tr", {},
        el("td", { class: "id" }, link(`/run${query({ id: c.workflow_id, run: c.run_id })}`, c.workflow_id)),
        el("td", {}, c.workflow_type), el("td", {}, c.state))))));
  }
  box.replaceChildren(...parts);
}

// ---------- The timeline ----------

function renderTimeline(box, t, run) {
  const lanes = t.lanes.slice(0, MAX_LANES);
  if (!t.lanes.length) {
    box.replaceChildren(el("p", { class: "muted padded" }, "No activities, timers or child workflows."));
    return;
  }
  const end = t.end || Math.max(Date.now(), t.start + 1);
  const span = Math.max(end - t.start, 1);
  const width = Math.max(box.clientWidth || 1000, 700);
  const labelWidth = 260, right = 20, laneHeight = 24, top = 28;
  const plot = width - labelWidth - right;
  const x = (ms) => labelWidth + ((ms - t.start) / span) * plot;
  const height = top + lanes.length * laneHeight + 8;
  const root = svg("svg", { width, height, role: "img", "aria-label": "timeline", id: "timeline-svg" });

  const axis = svg("g", { class: "axis" });
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const at = t.start + (span * i) / ticks;
    axis.append(svg("line", { x1: x(at), x2: x(at), y1: top - 6, y2: height }),
      svg("text", { x: x(at), y: 14, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" },
        i === 0 ? new Date(t.start).toISOString().slice(11, 23) : `+${duration(at - t.start)}`));
  }
  root.append(axis);

  lanes.forEach((lane, i) => {
    const y = top + i * laneHeight;
    const closed = lane.closed || end;
    const g = svg("g", { class: "lane", "data-kind": lane.kind, "data-outcome": lane.outcome, "data-event-id": lane.event_id });
    g.append(svg("text", { x: 8, y: y + 16 }, clip(lane.label, 34)));
    const started = lane.started || (lane.kind === "activity" ? null : lane.opened);
    if (started && started > lane.opened) {
      g.append(svg("rect", { class: "bar-wait", x: x(lane.opened), y: y + 6, width: Math.max(x(started) - x(lane.opened), 1), height: 12, rx: 2 }));
    }
    const from = started || lane.opened;
    const bar = svg("rect", { class: `bar ${lane.outcome}`, x: x(from), y: y + 4, width: Math.max(x(closed) - x(from), 3), height: 16, rx: 3 });
    const tip = [`${lane.label}: ${lane.outcome.replace(/_/g, " ")}`, `opened ${when(new Date(lane.opened).toISOString())}`];
    if (lane.started) tip.push(`started ${when(new Date(lane.started).toISOString())}`);
    if (lane.closed) tip.push(`closed ${when(new Date(lane.closed).toISOString())} (${duration(lane.closed - lane.opened)})`);
    if (lane.attempts > 1) tip.push(`${lane.attempts} attempts`);
    if (lane.detail) tip.push(lane.detail);
    bar.append(svg("title", {}, tip.join("\n")));
    g.append(bar);
    if (lane.attempts > 1) {
      g.append(svg("text", { x: Math.min(x(closed) + 4, width - 60), y: y + 16, class: "attempts" }, `×${lane.attempts}`));
    }
    root.append(g);
  });
  const outcomes = [...new Set(lanes.map((l) => l.outcome))];
  const legend = el("div", { class: "legend" }, outcomes.map((o) => el("span", {}, el("i", { class: `swatch ${o}` }), o.replace(/_/g, " "))),
    el("span", {}, el("i", { class: "swatch queued" }), "scheduled, not yet started"),
    t.lanes.length > MAX_LANES ? el("span", {}, `showing the first ${MAX_LANES} of ${t.lanes.length} lanes`) : null,
    run.status === "running" ? el("span", {}, "open bars run to now") : null);
  box.replaceChildren(root, legend);
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)}s`;
  if (ms < 3600000) return `${Math.floor(ms / 60000)}m ${Math.round((ms % 60000) / 1000)}s`;
  return `${Math.floor(ms / 3600000)}h ${Math.round((ms % 3600000) / 60000)}m`;
}

// ---------- The history table ----------

function renderHistory(box, state, run) {
  const types = [...new Set(state.events.map((e) => e.event_type))].sort();
  const shown = state.typeFilter ? state.events.filter((e) => e.event_type === state.typeFilter) : state.events;
  const pages = Math.max(1, Math.ceil(shown.length / EVENTS_PER_PAGE));
  state.page = Math.min(state.page, pages - 1);
  const slice = shown.slice(state.page * EVENTS_PER_PAGE, (state.page + 1) * EVENTS_PER_PAGE);
  const again = () => renderHistory(box, state, run);
  const select = el("select", { id: "event-type", onchange: (e) => { state.typeFilter = e.target.value; state.page = 0; again(); } },
    el("option", { value: "" }, `all events (${state.events.length})`),
    types.map((t) => el("option", { value: t, selected: t === state.typeFilter }, t)));
  const download = el("a", { href: `/api/history${query({ id: run.workflow_id, run: run.run_id, download: 1 })}`, id: "download", download: "" }, "download JSON");
  const rows = [];
  for (const event of slice) {
    rows.push(el("tr", { class: "event", "data-event-id": event.event_id, "data-event-type": event.event_type, onclick: () => {
      if (state.expanded.has(event.event_id)) state.expanded.delete(event.event_id);
      else state.expanded.add(event.event_id);
      again();
    } }, el("td", {}, event.event_id), el("td", {}, when(event.timestamp)), el("td", {}, event.event_type),
    el("td", { class: "id" }, summary(event.attributes))));
    if (state.expanded.has(event.event_id)) {
      rows.push(el("tr", { class: "event-json" }, el("td", { colspan: 4 }, json(event))));
    }
  }
  const pager = pages > 1 ? el("div", { class: "pager" },
    el("button", { type: "button", disabled: state.page === 0, onclick: () => { state.page -= 1; again(); } }, "←"),
    el("span", { id: "history-page" }, `page ${state.page + 1} of ${pages}`),
    el("button", { type: "button", disabled: state.page >= pages - 1, onclick: () => { state.page += 1; again(); } }, "→")) : null;
  box.replaceChildren(el("div", { class: "filters" }, select, download), pager || "",
    el("table", { id: "events" }, el("thead", {}, el("tr", {}, ["id", "time", "type", "details"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

function summary(attributes) {
  const parts = [];
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "options") continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key}=${clip(text, 80)}`);
  }
  return clip(parts.join(" "), 240);
}

window.addEventListener("popstate", route);
route();
