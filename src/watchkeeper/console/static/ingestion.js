// The ingestion and health page: KQL over the workspace's Usage and IngestionErrors tables through
// POST /v1/workspaces/{id}/query (the Log Analytics route every client uses), with the picked range
// as the timespan. Every value goes into the page as text (textContent), never as HTML: a rejected
// record's raw text is whatever a sender sent.

import { api, ApiError } from "./api.js";
import { drawChart } from "./chart.js";
import { element, say, when } from "./format.js";

const form = document.getElementById("ingestion");
const picker = document.getElementById("workspace");
const range = document.getElementById("range");
const RAW_SHOWN = 400; // characters of a rejected record shown; the rest is cut and said so
const EXAMPLES = 20;

const MEASURED = 'Usage | where DataType != "IngestionErrors"';
const QUERIES = {
  tables: `${MEASURED}
| summarize Rows = sum(Records), MB = sum(Quantity), LastEvent = max(EndTime), LastStored = max(TimeGenerated),
    AvgLagSeconds = sum(AvgLatencyInSeconds * Records) / sum(Records), MaxLagSeconds = max(AvgLatencyInSeconds)
    by DataType
| extend Stopped = LastStored < ago(1d)
| order by DataType asc`,
  daily: `${MEASURED}
| summarize Rows = sum(Records), MB = sum(Quantity) by Day = bin(TimeGenerated, 1d), DataType
| order by Day asc`,
  rejected: `IngestionErrors
| summarize Records = count(), LastSeen = max(TimeGenerated) by DestinationTable, Source, Reason
| order by Records desc, LastSeen desc
| take 100`,
  examples: `IngestionErrors
| top ${EXAMPLES} by TimeGenerated desc
| project TimeGenerated, DestinationTable, Source, InputFormat, Reason,
    RawRecord = substring(RawRecord, 0, ${RAW_SHOWN}), RawLength = strlen(RawRecord)`,
};

// A result table as objects keyed by column name.
function records(body) {
  const table = body.tables?.[0] ?? { columns: [], rows: [] };
  return { columns: table.columns, rows: table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c.name, row[i]]))) };
}

async function query(name) {
  const path = `/v1/workspaces/${encodeURIComponent(picker.value)}/query`;
  return records(await api(path, { method: "POST", body: { query: QUERIES[name], timespan: range.value } }));
}

function number(value, digits = 0) {
  return value === null || value === undefined ? "" : Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function lag(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function cell(text, className) {
  return element("td", { text, ...(className ? { className } : {}) });
}

function tableRow(t) {
  const state = t.Stopped ? "stopped" : "receiving";
  const status = element("span", { text: t.Stopped ? "Stopped" : "Receiving", className: `badge health-${state}` });
  const row = element("tr", { className: state, "data-table": t.DataType }, [
    element("th", { text: t.DataType, scope: "row" }), cell(number(t.Rows), "num"), cell(number(t.MB, 3), "num"),
    cell(when(t.LastEvent)), cell(when(t.LastStored)), cell(lag(t.AvgLagSeconds), "num"),
    cell(lag(t.MaxLagSeconds), "num"), element("td", {}, [status]),
  ]);
  if (t.Stopped) status.title = `No rows stored since ${when(t.LastStored)}`;
  return row;
}

function showTables({ rows }) {
  const body = document.querySelector("#tables tbody");
  body.replaceChildren(...rows.map(tableRow));
  if (rows.length === 0) body.append(element("tr", {}, [element("td", { text: "No table received data in this range.", colspan: "8", className: "empty" })]));
  return rows.filter((t) => t.Stopped).length;
}

// One series per table over the days: the shared chart module draws it (with its numbers as a table).
function showDaily({ columns, rows }) {
  const column = Object.fromEntries(columns.map((c) => [c.name, c]));
  for (const [measure, id] of [["Rows", "rows-chart"], ["MB", "mb-chart"]]) {
    const container = document.getElementById(id);
    const points = rows.map((r) => [r.Day, r.DataType, r[measure]]);
    if (!drawChart(container, "timechart", [column.Day, column.DataType, column[measure]], points)) {
      container.replaceChildren(element("p", { text: "Nothing was stored in this range.", className: "empty" }));
    }
  }
}

function showRejected({ rows }) {
  const body = document.querySelector("#rejected tbody");
  body.replaceChildren(...rows.map((r) => element("tr", {}, [
    cell(r.DestinationTable || "(not read)"), cell(r.Source), cell(r.Reason, "reason"),
    cell(number(r.Records), "num"), cell(when(r.LastSeen)),
  ])));
  if (rows.length === 0) body.append(element("tr", {}, [element("td", { text: "No record was rejected in this range.", colspan: "5", className: "empty" })]));
}

function example(r) {
  const cut = r.RawLength > RAW_SHOWN ? ` … [${number(r.RawLength)} characters, the first ${RAW_SHOWN} shown]` : "";
  return element("li", {}, [
    element("div", {}, [element("time", { text: when(r.TimeGenerated), datetime: r.TimeGenerated ?? "" }),
      document.createTextNode(` · ${r.DestinationTable || "(not read)"} · ${r.Source} · ${r.InputFormat}`)]),
    element("div", { text: r.Reason, className: "reason" }),
    element("pre", { text: `${r.RawRecord}${cut}`, className: "raw", "aria-label": "Raw record" }),
  ]);
}

function showExamples({ rows }) {
  document.getElementById("examples").replaceChildren(...rows.map(example));
}

async function load() {
  const busy = document.querySelectorAll("#tables, #rejected");
  busy.forEach((t) => t.setAttribute("aria-busy", "true"));
  say("Loading…");
  try {
    const [tables, daily, rejected, examples] = await Promise.all(Object.keys(QUERIES).map(query));
    const stopped = showTables(tables);
    showDaily(daily);
    showRejected(rejected);
    showExamples(examples);
    const refused = rejected.rows.reduce((sum, r) => sum + r.Records, 0);
    say(`${tables.rows.length} tables received data; ${stopped} stopped; ${number(refused)} records rejected.`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The ingestion figures could not be read: ${error.message}`, true);
  } finally {
    busy.forEach((t) => t.setAttribute("aria-busy", "false"));
  }
}

function fillWorkspaces() {
  const choices = JSON.parse(picker.dataset.workspaces || "[]");
  picker.replaceChildren(...choices.map((w) => element("option", { text: w.name, value: w.id })));
  return choices.length > 0;
}

form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
picker.addEventListener("change", load);
range.addEventListener("change", load);
if (fillWorkspaces()) load();
else say("This tenant has no workspace.", true);
