// The hunting page: KQL through POST /v1/workspaces/{id}/query (the Log Analytics route every client
// uses) with the picked time range as its timespan; completion from GET /v1/workspaces/{id}/metadata
// (the caller's own workspace only: the API answers "not found" for any other). The chart is the one
// the answer's `render` names (Prefer: include-render=true, as azure-monitor-query asks for it).
// Saved queries of the workspace: GET/POST /api/savedQueries?workspace=, DELETE /api/savedQueries/{id}.
// The page opens prefilled from ?workspace=&query=&from=&to= (or &timespan=) and runs that query:
// other pages link here ("open in hunting").

import { api, ApiError } from "./api.js";
import { drawChart, VISUALIZATIONS } from "./chart.js";
import { KqlEditor } from "./editor.js";
import { ResultsGrid } from "./hunting-grid.js";
import { element, say } from "./format.js";

const form = document.getElementById("hunt");
const picker = document.getElementById("workspace");
const range = document.getElementById("range");
const errorLine = document.getElementById("kql-error");
const limits = document.getElementById("limits");
const savedTable = document.getElementById("saved");
let schema = { tables: [], functions: [] };
let exactRange = null; // a start/end given in the URL, sent as given until the inputs change

const catalog = {
  tables: () => schema.tables.map((t) => t.name),
  columns: (table) => schema.tables.find((t) => t.name === table)?.columns ?? [],
  functions: () => schema.functions.map((f) => f.name),
};
const editor = new KqlEditor(document.getElementById("kql"), document.getElementById("kql-paint"),
  document.getElementById("kql-complete"), { onRun: run, catalog });
const grid = new ResultsGrid({
  table: document.getElementById("results"), chooser: document.getElementById("columns"),
  count: document.getElementById("row-count"), csvButton: document.getElementById("export-csv"),
  jsonButton: document.getElementById("export-json"),
});

function workspacePath(suffix) {
  return `/v1/workspaces/${encodeURIComponent(picker.value)}/${suffix}`;
}

async function loadSchema() {
  schema = { tables: [], functions: [] };
  form.dataset.schema = "loading";
  if (!picker.value) return;
  try {
    const body = await api(workspacePath("metadata"));
    schema = { tables: body.tables ?? [], functions: body.functions ?? [] };
    form.dataset.schema = "loaded";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    form.dataset.schema = "failed";
    say(`Suggestions are unavailable: ${error.message}`, true);
  }
}

// The picked range as the API's timespan: an ISO 8601 duration, or start/end for a custom range.
function timespan() {
  if (range.value !== "custom") return range.value;
  if (exactRange) return `${exactRange.from}/${exactRange.to}`;
  const start = document.getElementById("range-start").value;
  const end = document.getElementById("range-end").value;
  if (!start || !end) throw new ApiError("choose both ends of the custom time range");
  return `${start}:00Z/${end}:00Z`;
}

function showError(error) {
  const detail = error.body?.error ?? {};
  const line = detail.line ?? detail.innererror?.innererror?.line;
  const column = detail.column ?? detail.innererror?.innererror?.pos;
  const where = line ? ` (line ${line}, column ${column})` : "";
  errorLine.textContent = `${error.message}${where}`;
  editor.markError(line ?? null, column ?? 1, error.message);
  say("The query did not run.", true);
}

function showLimits(body) {
  const partial = body.error;
  limits.hidden = !partial;
  limits.textContent = partial ? `Partial result: ${partial.message}` : "";
}

function showChart(render, table) {
  const visualization = render?.visualization;
  const panel = document.getElementById("chart-panel");
  const chart = document.getElementById("chart");
  panel.hidden = true;
  if (!visualization) return;
  if (!VISUALIZATIONS.includes(visualization)) {
    say(`render ${visualization} is not drawn here; the results are shown as a table.`);
    return;
  }
  document.getElementById("chart-title").textContent = `Chart (${visualization})`;
  panel.hidden = !drawChart(chart, visualization, table.columns, table.rows, render);
}

async function run() {
  const query = editor.text;
  errorLine.textContent = "";
  editor.markError(null);
  say("Running…");
  const started = performance.now();
  try {
    const body = await api(workspacePath("query"), {
      method: "POST", body: { query, timespan: timespan() }, headers: { Prefer: "include-render=true" },
    });
    const table = body.tables?.[0] ?? { columns: [], rows: [] };
    showLimits(body);
    grid.show(table.columns, table.rows);
    document.getElementById("results-panel").hidden = false;
    showChart(body.render, table);
    say(`Done in ${((performance.now() - started) / 1000).toFixed(2)} s: ${table.rows.length} rows.`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showError(error);
  }
}

function fillWorkspaces() {
  const choices = JSON.parse(picker.dataset.workspaces || "[]");
  picker.replaceChildren(...choices.map((w) => Object.assign(document.createElement("option"), {
    value: w.id, textContent: w.name,
  })));
  if (choices.length === 0) say("This tenant has no workspace to query.", true);
}

function setQuery(text) {
  editor.textarea.value = text;
  editor.markError(null); // repaints the highlighted copy
}

function tellSaved(message, isError = false) {
  const status = document.getElementById("saved-status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

function savedRow(saved) {
  const open = element("button", { type: "button", text: "Open", "aria-label": `Open ${saved.name}` });
  open.addEventListener("click", () => { setQuery(saved.query); tellSaved(`Opened "${saved.name}".`); run(); });
  const actions = [open];
  if (saved.editable) {
    const remove = element("button", { type: "button", text: "Delete", "aria-label": `Delete ${saved.name}` });
    remove.addEventListener("click", () => removeSaved(saved));
    actions.push(" ", remove);
  }
  const tr = element("tr", {}, [element("td", { text: saved.name, className: "saved-name" }),
    element("td", { text: saved.description }), element("td", { text: saved.owner }),
    element("td", { text: saved.shared ? "Everyone in the tenant" : "Only you" }), element("td", {}, actions)]);
  tr.dataset.id = saved.id;
  return tr;
}

async function loadSaved() {
  savedTable.setAttribute("aria-busy", "true");
  savedTable.tBodies[0].replaceChildren();
  if (!picker.value) return;
  try {
    const body = await api(`/api/savedQueries?workspace=${encodeURIComponent(picker.value)}`);
    // the empty state is a row of the list: the status line keeps the outcome of the last action
    const empty = element("tr", {}, [element("td", { text: "No saved queries in this workspace yet.", colspan: 5 })]);
    savedTable.tBodies[0].replaceChildren(...(body.value.length ? body.value.map(savedRow) : [empty]));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    tellSaved(`Saved queries are unavailable: ${error.message}`, true);
  } finally {
    savedTable.setAttribute("aria-busy", "false");
  }
}

async function saveCurrent(event) {
  event.preventDefault();
  const body = {
    name: document.getElementById("saved-name").value, query: editor.text,
    description: document.getElementById("saved-description").value,
    shared: document.getElementById("saved-shared").checked,
  };
  try {
    await api(`/api/savedQueries?workspace=${encodeURIComponent(picker.value)}`, { method: "POST", body });
    tellSaved(`Saved "${body.name}".`);
    await loadSaved();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const detail = error.body?.error?.details?.[0];
    tellSaved(`The query was not saved: ${error.message}`, true);
    if (detail?.line) editor.markError(detail.line, detail.column ?? 1, detail.message);
  }
}

async function removeSaved(saved) {
  try {
    await api(`/api/savedQueries/${encodeURIComponent(saved.id)}`, { method: "DELETE" });
    tellSaved(`Deleted "${saved.name}".`);
    await loadSaved();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    tellSaved(`The query was not deleted: ${error.message}`, true);
  }
}

// "YYYY-MM-DDTHH:MM" in UTC for a datetime-local input, or "" for a text that is no time.
function inputTime(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 16);
}

function customRange(from, to) {
  if (!inputTime(from) || !inputTime(to)) { say("The link's time range is not a pair of ISO 8601 times.", true); return; }
  range.value = "custom";
  document.getElementById("custom-range").hidden = false;
  document.getElementById("range-start").value = inputTime(from);
  document.getElementById("range-end").value = inputTime(to);
  exactRange = { from, to };
}

function pickRange(params) {
  const span = params.get("timespan");
  if (params.get("from") && params.get("to")) customRange(params.get("from"), params.get("to"));
  else if (span?.includes("/")) customRange(...span.split("/", 2));
  else if (span && [...range.options].some((o) => o.value === span)) range.value = span;
  else if (span) { range.add(new Option(`Last ${span}`, span), range.options.length - 1); range.value = span; }
}

// ?workspace=ID|name&query=KQL&from=ISO&to=ISO (or &timespan=ISO duration or start/end): true
// when a query was given (it then runs at once).
function applyLink() {
  const params = new URLSearchParams(location.search);
  const workspace = params.get("workspace");
  if (workspace) {
    const match = [...picker.options].find((o) => o.value === workspace || o.textContent === workspace);
    if (match) picker.value = match.value;
    else say(`The link names a workspace that is not one of this tenant's (${workspace}).`, true);
  }
  pickRange(params);
  if (params.get("query")) setQuery(params.get("query"));
  return Boolean(params.get("query")) && (!workspace || picker.value === workspace
    || picker.selectedOptions[0]?.textContent === workspace);
}

form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
range.addEventListener("change", () => { document.getElementById("custom-range").hidden = range.value !== "custom"; });
for (const input of ["range-start", "range-end"]) {
  document.getElementById(input).addEventListener("input", () => { exactRange = null; });
}
picker.addEventListener("change", () => { loadSchema(); loadSaved(); });
document.getElementById("save-query").addEventListener("submit", saveCurrent);
fillWorkspaces();
const runNow = applyLink();
loadSchema();
loadSaved();
if (runNow) run();
