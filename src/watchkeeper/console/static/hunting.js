// The hunting page: KQL through POST /v1/workspaces/{id}/query (the Log Analytics route every client
// uses) with the picked time range as its timespan; completion from GET /v1/workspaces/{id}/metadata
// (the caller's own workspace only: the API answers "not found" for any other). The chart is the one
// the answer's `render` names (Prefer: include-render=true, as azure-monitor-query asks for it).

import { api, ApiError } from "./api.js";
import { drawChart, VISUALIZATIONS } from "./chart.js";
import { KqlEditor } from "./editor.js";
import { ResultsGrid } from "./hunting-grid.js";
import { say } from "./format.js";

const form = document.getElementById("hunt");
const picker = document.getElementById("workspace");
const range = document.getElementById("range");
const errorLine = document.getElementById("kql-error");
const limits = document.getElementById("limits");
let schema = { tables: [], functions: [] };

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

form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
range.addEventListener("change", () => { document.getElementById("custom-range").hidden = range.value !== "custom"; });
picker.addEventListener("change", loadSchema);
fillWorkspaces();
loadSchema();
