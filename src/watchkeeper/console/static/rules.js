// The rules page: the workspace's rules from GET /api/rules (status, last run, hits, errors, failing
// streak), filtered here; enable/disable, "run now" and a rule's tests through POST /api/rules/{id}/...;
// a rule's details from GET /api/rules/{id}. The ATT&CK coverage tab draws GET /api/coverage as a
// matrix: tactics as columns in ATT&CK's order, one cell a technique, coloured by how many enabled
// rules cover it, navigable with the arrow keys.

import { api, ApiError } from "./api.js";
import { SEVERITY, badge, element, say, when } from "./format.js";

// Enterprise ATT&CK's tactics in the matrix's order (attack.mitre.org/tactics/enterprise), as
// Sentinel spells them; other tactics a rule names (ICS, PreAttack) follow in the order found.
const ATTACK_ORDER = [
  "Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation",
  "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection", "CommandAndControl",
  "Exfiltration", "Impact",
];
const picker = document.getElementById("workspace");
const filters = document.getElementById("filters");
const tbody = document.querySelector("#rules tbody");
const detail = document.getElementById("detail");
let rules = [];
let openRule = null; // the id of the rule whose details are shown

function query(extra = {}) {
  return new URLSearchParams({ workspace: picker.value, ...extra }).toString();
}

function rulePath(rule, suffix = "") {
  return `/api/rules/${encodeURIComponent(rule)}${suffix}?${query()}`;
}

function counted(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function spaced(name) {
  return name.replace(/([a-z])([A-Z])/g, "$1 $2");
}

function fillWorkspaces() {
  const choices = JSON.parse(picker.dataset.workspaces || "[]");
  picker.replaceChildren(...choices.map((w) => element("option", { value: w.id, text: w.name })));
  const wanted = new URLSearchParams(location.search).get("workspace");
  const match = choices.find((w) => w.id === wanted || w.name === wanted);
  if (match) picker.value = match.id;
}

// ---------------------------------------------------------------- the list

function matches(rule, form) {
  const text = form.elements.text.value.trim().toLowerCase();
  const status = form.elements.status.value;
  const severity = form.elements.severity.value;
  const tactic = form.elements.tactic.value;
  const haystack = [rule.name, rule.ruleId, ...rule.tables].join(" ").toLowerCase();
  if (text && !haystack.includes(text)) return false;
  if (status === "enabled" && !rule.enabled) return false;
  if (status === "disabled" && rule.enabled) return false;
  if (status === "failing" && !rule.failingStreak) return false;
  if (status === "never" && rule.lastRun) return false;
  if (severity && rule.severity !== severity) return false;
  return !tactic || rule.tactics.includes(tactic);
}

function lastRunCell(rule) {
  const run = rule.lastRun;
  if (!run) return element("td", { text: "Never run", className: "meta" });
  const summary = element("div", {}, [
    badge("run", run.status, { succeeded: "Succeeded", failed: "Failed" }), " ",
    element("time", { datetime: run.startedDateTime, text: when(run.startedDateTime) }),
  ]);
  const counts = element("div", { className: "meta", text: `${run.hits} hits, ${run.alerts} alerts (${run.kind})` });
  const parts = [summary, counts];
  if (run.error) parts.push(element("div", { className: "run-error", text: run.error }));
  return element("td", {}, parts);
}

function switchButton(rule) {
  const button = element("button", {
    type: "button", role: "switch", className: "switch", "aria-checked": String(rule.enabled),
    "aria-label": `Enabled: ${rule.name}`, text: rule.enabled ? "On" : "Off",
  });
  button.addEventListener("click", () => toggle(rule, button));
  return button;
}

function runButton(rule) {
  const button = element("button", { type: "button", className: "secondary", text: "Run now",
    "aria-label": `Run ${rule.name} now` });
  button.addEventListener("click", () => runNow(rule, button));
  return button;
}

function row(rule) {
  const open = element("button", { type: "button", className: "link", text: rule.name,
    "aria-label": `Details of ${rule.name}` });
  open.addEventListener("click", () => showDetail(rule.id));
  const streak = rule.failingStreak ? element("span", { className: "badge streak", text: `${rule.failingStreak} failed` })
    : element("span", { className: "meta", text: "0" });
  return element("tr", { "data-id": rule.id, "data-rule-id": rule.ruleId }, [
    element("td", {}, [open, element("div", { className: "meta", text: rule.ruleId })]),
    element("td", {}, [badge("rule", rule.enabled ? "enabled" : "disabled", { enabled: "Enabled", disabled: "Disabled" })]),
    element("td", {}, [badge("severity", rule.severity, SEVERITY)]),
    element("td", { className: "col-kind", text: `${rule.kind === "nrt" ? "NRT" : "Scheduled"} · ${rule.format}` }),
    lastRunCell(rule),
    element("td", { className: "number", text: String(rule.last24Hours.hits) }),
    element("td", {}, [streak]),
    element("td", { className: "actions" }, [switchButton(rule), runButton(rule)]),
  ]);
}

function draw() {
  const shown = rules.filter((rule) => matches(rule, filters));
  tbody.replaceChildren(...shown.map(row));
  document.getElementById("empty").hidden = shown.length > 0;
  document.getElementById("rule-count").textContent =
    `${shown.length} of ${rules.length} rules · ${rules.filter((r) => r.enabled).length} enabled`;
}

function fillTactics() {
  const select = filters.elements.tactic;
  const chosen = select.value;
  const tactics = [...new Set(rules.flatMap((r) => r.tactics))].sort(byAttackOrder);
  select.replaceChildren(element("option", { value: "", text: "Any" }),
    ...tactics.map((t) => element("option", { value: t, text: spaced(t) })));
  if (tactics.includes(chosen)) select.value = chosen;
}

async function loadRules() {
  const table = document.getElementById("rules");
  table.setAttribute("aria-busy", "true");
  try {
    rules = (await api(`/api/rules?${query()}`)).value;
    fillTactics();
    draw();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    rules = [];
    draw();
    say(`The rules could not be read: ${error.message}`, true);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

async function toggle(rule, button) {
  button.disabled = true;
  const action = rule.enabled ? "disable" : "enable";
  try {
    const changed = await api(rulePath(rule.id, `/${action}`), { method: "POST" });
    say(`${changed.name} is ${changed.enabled ? "enabled" : "disabled"}.`);
    await loadRules();
    if (openRule === rule.id) await showDetail(rule.id, false);
    tbody.querySelector(`tr[data-id="${CSS.escape(rule.id)}"] button[role=switch]`)?.focus();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    button.disabled = false;
    say(`${rule.name} could not be ${action}d: ${error.message}`, true);
  }
}

function outcomeText(rule, outcome) {
  const span = `${when(outcome.windowStart)} – ${when(outcome.windowEnd)}`;
  if (outcome.status === "failed") return `${rule.name} failed over ${span}: ${outcome.error}`;
  const suppressed = outcome.suppressed ? " (alerts suppressed)" : "";
  return `${rule.name} ran over ${span}: ${counted(outcome.hits, "hit")}, ${counted(outcome.alerts.length, "alert")} raised${suppressed}.`;
}

async function runNow(rule, button) {
  button.disabled = true;
  say(`Running ${rule.name}…`);
  try {
    const outcome = await api(rulePath(rule.id, "/run"), { method: "POST" });
    say(outcomeText(rule, outcome), outcome.status === "failed");
    await loadRules();
    if (openRule === rule.id) await showDetail(rule.id, false);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`${rule.name} could not be run: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- a rule's details

function fact(name, value) {
  return [element("dt", { text: name }), element("dd", { text: value })];
}

function runRow(run) {
  return element("tr", {}, [
    element("td", { text: when(run.startedDateTime) }), element("td", { text: run.kind }),
    element("td", {}, [badge("run", run.status, { succeeded: "Succeeded", failed: "Failed" }),
      ...(run.error ? [element("div", { className: "run-error", text: run.error })] : [])]),
    element("td", { text: String(run.hits) }), element("td", { text: String(run.alerts) }),
    element("td", { text: `${run.durationSeconds} s` }),
  ]);
}

function testItem(test) {
  const state = test.passed === null ? "not run" : test.passed ? "passed" : "failed";
  const item = element("li", { className: `test test-${state.replace(" ", "-")}` }, [
    element("strong", { text: test.name }), ` — ${state}`,
  ]);
  if (test.passed !== null) item.append(` (${test.alerts} alerts)`);
  if (test.problem) item.append(element("div", { className: "run-error", text: test.problem }));
  return item;
}

function showTests(tests) {
  const list = document.getElementById("detail-tests");
  list.replaceChildren(...tests.map(testItem));
  if (!tests.length) list.append(element("li", { className: "meta", text: "The rule's file carries no tests." }));
  document.getElementById("run-tests").disabled = !tests.length;
}

function fillDetail(rule) {
  document.getElementById("detail-title").textContent = rule.name;
  document.getElementById("detail-facts").replaceChildren(
    ...fact("Rule id", rule.ruleId), ...fact("Status", rule.enabled ? "Enabled" : "Disabled"),
    ...fact("Kind", `${rule.kind === "nrt" ? "NRT" : "Scheduled"} (${rule.format})`),
    ...fact("Runs every / looks back", `${rule.queryFrequency} / ${rule.queryPeriod}`),
    ...fact("Trigger", `results ${rule.triggerOperator} ${rule.triggerThreshold}`),
    ...fact("Tactics", rule.tactics.map(spaced).join(", ") || "—"),
    ...fact("Techniques", rule.techniques.join(", ") || "—"), ...fact("Tables", rule.tables.join(", ") || "—"),
    ...fact("Last 24 hours", `${rule.last24Hours.runs} runs, ${rule.last24Hours.hits} hits, ${rule.last24Hours.alerts} alerts`),
  );
  document.getElementById("detail-query").textContent = rule.query;
  const runs = document.querySelector("#detail-runs tbody");
  runs.replaceChildren(...rule.latestRuns.map(runRow));
  if (!rule.latestRuns.length) runs.append(element("tr", {}, [element("td", { colspan: "6", text: "No runs yet." })]));
}

async function showDetail(id, focus = true) {
  try {
    const [rule, tests] = await Promise.all([api(rulePath(id)), api(rulePath(id, "/tests"))]);
    openRule = id;
    fillDetail(rule);
    showTests(tests.value);
    detail.hidden = false;
    if (focus) detail.focus();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The rule could not be read: ${error.message}`, true);
  }
}

async function runTests() {
  const button = document.getElementById("run-tests");
  button.disabled = true;
  say("Running the rule's tests…");
  try {
    const tests = (await api(rulePath(openRule, "/tests/run"), { method: "POST" })).value;
    showTests(tests);
    const passed = tests.filter((t) => t.passed).length;
    say(`${passed} of ${tests.length} tests passed.`, passed < tests.length);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The tests could not be run: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- ATT&CK coverage

function byAttackOrder(a, b) {
  const rank = (t) => (ATTACK_ORDER.includes(t) ? ATTACK_ORDER.indexOf(t) : ATTACK_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function coverageClass(count) {
  return `cover-${Math.min(count, 3)}`;
}

function techniqueCell(tactic, technique, rulesById) {
  const covering = technique.rules.map((id) => rulesById.get(id)).filter(Boolean);
  const idle = covering.filter((r) => r.tablesWithoutData.length);
  const label = `${technique.technique} under ${spaced(tactic)}: ${counted(covering.length, "enabled rule")}` +
    (idle.length ? `, ${idle.length} without data` : "");
  const cell = element("td", { role: "gridcell", tabindex: "-1", "aria-label": label,
    className: `technique ${coverageClass(covering.length)}${idle.length ? " nodata" : ""}`,
    "data-technique": technique.technique, "data-tactic": tactic }, [
    element("span", { className: "technique-id", text: technique.technique }),
    element("span", { className: "technique-count", text: `${covering.length}${idle.length ? " ⚠" : ""}` }),
  ]);
  cell.addEventListener("click", () => showCell(cell, tactic, technique.technique, covering));
  cell.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      showCell(cell, tactic, technique.technique, covering);
    }
  });
  return cell;
}

function showCell(cell, tactic, technique, covering) {
  moveTo(cell);
  document.getElementById("cell-title").textContent = `${technique} · ${spaced(tactic)}`;
  document.getElementById("cell-rules").replaceChildren(...covering.map((r) => element("li", {}, [
    element("strong", { text: r.name }), ` (${r.id})`,
    element("div", { className: "meta", text: `tests: ${r.tests}` + (r.tablesWithoutData.length
      ? ` · no data in ${r.tablesWithoutData.join(", ")}` : "") }),
  ])));
  document.getElementById("cell").hidden = false;
}

function matrixRows(columns, rulesById) {
  const depth = Math.max(1, ...columns.map((c) => c.techniques.length));
  const rows = [];
  for (let index = 0; index < depth; index += 1) {
    rows.push(element("tr", { role: "row" }, columns.map((column) => {
      const technique = column.techniques[index];
      if (technique) return techniqueCell(column.tactic, technique, rulesById);
      const empty = index === 0 ? "No rules" : "";
      return element("td", { role: "gridcell", tabindex: "-1", className: "technique none", text: empty,
        "aria-label": index === 0 ? `${spaced(column.tactic)}: no enabled rule` : "empty" });
    })));
  }
  return rows;
}

function drawMatrix(coverage) {
  const found = new Map(coverage.tactics.map((t) => [t.tactic, t]));
  const names = [...new Set([...ATTACK_ORDER, ...found.keys()])].sort(byAttackOrder);
  const columns = names.map((tactic) => found.get(tactic) ?? { tactic, rules: 0, techniques: [] });
  const rulesById = new Map(coverage.rules.map((r) => [r.id, r]));
  const matrix = document.getElementById("matrix");
  matrix.tHead.replaceChildren(element("tr", { role: "row" }, columns.map((c) => element("th", {
    scope: "col", role: "columnheader" }, [element("span", { text: spaced(c.tactic) }),
    element("span", { className: "meta", text: `${counted(c.techniques.length, "technique")} · ${counted(c.rules, "rule")}` })]))));
  matrix.tBodies[0].replaceChildren(...matrixRows(columns, rulesById));
  document.getElementById("matrix-empty").hidden = coverage.tactics.length > 0;
  const first = matrix.querySelector("td.technique:not(.none)") ?? matrix.querySelector("td");
  if (first) first.tabIndex = 0;
}

function moveTo(cell) {
  const matrix = document.getElementById("matrix");
  matrix.querySelectorAll("td[tabindex='0']").forEach((c) => { c.tabIndex = -1; });
  cell.tabIndex = 0;
  cell.focus();
}

// Arrow keys move between cells (a roving tabindex: the matrix is one tab stop); Home/End to a row's ends.
function navigate(event) {
  const cell = event.target.closest("td");
  if (!cell) return;
  const row = cell.parentElement;
  const rows = [...row.parentElement.rows];
  let [r, c] = [rows.indexOf(row), cell.cellIndex];
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (event.key === "Home") c = 0;
  else if (event.key === "End") c = row.cells.length - 1;
  else if (moves[event.key]) [r, c] = [r + moves[event.key][0], c + moves[event.key][1]];
  else return;
  event.preventDefault();
  const target = rows[Math.max(0, Math.min(rows.length - 1, r))]?.cells[Math.max(0, Math.min(row.cells.length - 1, c))];
  if (target) moveTo(target);
}

async function loadCoverage() {
  const matrix = document.getElementById("matrix");
  matrix.setAttribute("aria-busy", "true");
  document.getElementById("cell").hidden = true;
  try {
    drawMatrix(await api(`/api/coverage?${query()}`));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The coverage could not be read: ${error.message}`, true);
  } finally {
    matrix.setAttribute("aria-busy", "false");
  }
}

// ---------------------------------------------------------------- views

function showView(view, { push = true } = {}) {
  const coverage = view === "coverage";
  document.getElementById("list-view").hidden = coverage;
  document.getElementById("coverage-view").hidden = !coverage;
  for (const [id, selected] of [["tab-list", !coverage], ["tab-coverage", coverage]]) {
    const tab = document.getElementById(id);
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  if (push) {
    const params = new URLSearchParams(location.search);
    if (coverage) params.set("view", "coverage"); else params.delete("view");
    history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}`);
  }
  return coverage ? loadCoverage() : loadRules();
}

function tabKeys(event) {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const next = event.target.id === "tab-list" ? "tab-coverage" : "tab-list";
  document.getElementById(next).focus();
  showView(next === "tab-coverage" ? "coverage" : "list");
}

function currentView() {
  return document.getElementById("coverage-view").hidden ? "list" : "coverage";
}

function start() {
  fillWorkspaces();
  filters.addEventListener("input", draw);
  filters.addEventListener("change", draw);
  filters.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("refresh").addEventListener("click", loadRules);
  document.getElementById("detail-close").addEventListener("click", () => { detail.hidden = true; openRule = null; });
  document.getElementById("run-tests").addEventListener("click", runTests);
  document.getElementById("matrix").addEventListener("keydown", navigate);
  document.getElementById("tab-list").addEventListener("click", () => showView("list"));
  document.getElementById("tab-coverage").addEventListener("click", () => showView("coverage"));
  document.querySelector(".tabs").addEventListener("keydown", tabKeys);
  picker.addEventListener("change", () => { detail.hidden = true; openRule = null; showView(currentView()); });
  const view = new URLSearchParams(location.search).get("view") === "coverage" ? "coverage" : "list";
  showView(view, { push: false });
}

start();
