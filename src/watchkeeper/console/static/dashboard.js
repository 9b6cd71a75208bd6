// One dashboard (GET /api/dashboards/{id}): a parameter bar (workspace, time range), and its tiles
// in a grid, each running its query through POST /v1/workspaces/{id}/query with the range as its
// timespan. Tiles load in parallel, each with its own loading, error or "no data" state; only the
// latest load draws (a slow answer from before a Refresh is dropped). Save a copy, share with the
// tenant and the document editor go through /api/dashboards like any API client.

import { api, ApiError } from "./api.js";
import { drawChart } from "./chart.js";
import { sendDocument, showProblems } from "./dashboard-api.js";
import { element, say } from "./format.js";

const id = document.getElementById("title").dataset.dashboard;
const picker = document.getElementById("workspace");
const range = document.getElementById("range");
const grid = document.getElementById("tiles");
const SHOWN_ROWS = 50;
let dashboard = null;
let generation = 0;

function cellText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function smallTable(title, columns, rows) {
  const table = element("table", { className: "grid tile-table" }, [element("caption", { text: title, className: "visually-hidden" })]);
  const head = table.createTHead().insertRow();
  for (const column of columns) head.append(element("th", { text: column.name, scope: "col" }));
  const body = table.createTBody();
  for (const row of rows.slice(0, SHOWN_ROWS)) {
    const tr = body.insertRow();
    for (const value of row) tr.insertCell().textContent = cellText(value);
  }
  const more = rows.length > SHOWN_ROWS ? [element("p", { className: "meta", text: `The first ${SHOWN_ROWS} of ${rows.length} rows.` })] : [];
  return [element("div", { className: "tile-scroll" }, [table]), ...more];
}

function stat(columns, rows) {
  const index = Math.max(0, columns.findIndex((c) => ["int", "long", "real", "decimal"].includes(c.type)));
  const value = rows[0]?.[index];
  const number = typeof value === "number" ? value.toLocaleString("en-US") : (cellText(value) || "—");
  return [element("p", { className: "stat-value", text: number }), element("p", { className: "meta", text: columns[index]?.name ?? "" })];
}

function draw(tile, table) {
  const { columns = [], rows = [] } = table ?? {};
  if (rows.length === 0) return [element("p", { className: "empty", text: "No data in this time range." })];
  if (tile.visualization === "stat") return stat(columns, rows);
  if (tile.visualization === "table") return smallTable(tile.title, columns, rows);
  const chart = element("div", { className: "tile-chart" });
  return drawChart(chart, tile.visualization, columns, rows) ? [chart] : smallTable(tile.title, columns, rows);
}

function failure(error) {
  const detail = error.body?.error ?? {};
  const line = detail.line ?? detail.innererror?.innererror?.line;
  const where = line ? ` (line ${line}, column ${detail.column ?? detail.innererror?.innererror?.pos})` : "";
  return [element("p", { className: "error", text: `${error.message}${where}` })];
}

async function runTile(tile, section, body, mine) {
  section.dataset.state = "loading";
  body.setAttribute("aria-busy", "true");
  body.replaceChildren(element("p", { className: "meta", text: "Loading…" }));
  let content;
  let state = "done";
  try {
    const answer = await api(`/v1/workspaces/${encodeURIComponent(picker.value)}/query`, {
      method: "POST", body: { query: tile.query, timespan: range.value },
    });
    content = draw(tile, answer.tables?.[0]);
    if ((answer.tables?.[0]?.rows ?? []).length === 0) state = "empty";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    [content, state] = [failure(error), "error"];
  }
  if (mine !== generation) return; // a newer load owns the tile now
  body.replaceChildren(...content);
  body.setAttribute("aria-busy", "false");
  section.dataset.state = state;
}

function tileSection(tile, index) {
  const heading = element("h2", { text: tile.title, id: `tile-${index}-title` });
  const body = element("div", { className: "tile-body" });
  const width = tile.width ?? (tile.visualization === "stat" ? 1 : 2);
  const section = element("section", {
    className: `tile panel width-${width} size-${tile.size ?? "medium"} tile-${tile.visualization}`,
    "aria-labelledby": heading.id,
  }, [heading, ...(tile.description ? [element("p", { className: "meta", text: tile.description })] : []), body]);
  section.dataset.visualization = tile.visualization;
  return [section, body];
}

async function refresh() {
  if (!dashboard) return;
  if (!picker.value) { say("This tenant has no workspace to query.", true); return; }
  generation += 1;
  const mine = generation;
  const tiles = dashboard.definition.tiles.map((tile, index) => [tile, ...tileSection(tile, index)]);
  grid.replaceChildren(...tiles.map(([, section]) => section));
  grid.dataset.generation = String(mine);
  say("Loading the tiles…");
  await Promise.all(tiles.map(([tile, section, body]) => runTile(tile, section, body, mine)));
  if (mine !== generation) return;
  const failed = grid.querySelectorAll('[data-state="error"]').length;
  say(failed ? `${failed} of ${tiles.length} tiles failed.` : `${tiles.length} tiles loaded.`, failed > 0);
  grid.dataset.loaded = String(mine);
}

function chooseDefaultRange(definition) {
  const parameter = (definition.parameters ?? []).find((p) => p.type === "timerange");
  const wanted = parameter?.default ?? "P1D";
  if (![...range.options].some((o) => o.value === wanted)) range.append(new Option(`Last ${wanted}`, wanted));
  range.value = wanted;
  const workspace = (definition.parameters ?? []).find((p) => p.type === "workspace")?.default;
  const match = [...picker.options].find((o) => o.value === workspace || o.textContent === workspace);
  if (match) picker.value = match.value;
}

function showOwnership() {
  const owned = dashboard.editable;
  document.getElementById("ownership").textContent = dashboard.builtin
    ? "Built in, read-only: save a copy to change it."
    : `Owner: ${dashboard.owner}${dashboard.shared ? " · shared with the tenant" : " · only you see it"}`;
  document.getElementById("share-label").hidden = !owned;
  document.getElementById("share").checked = dashboard.shared;
  document.getElementById("edit").hidden = !owned;
  document.getElementById("delete").hidden = !owned;
}

function show(found) {
  dashboard = found;
  document.getElementById("title").textContent = found.name;
  document.title = `${found.name} · watchkeeper`;
  document.getElementById("description").textContent = found.description;
  showOwnership();
}

async function saveCopy() {
  const copy = { ...dashboard.definition, name: `Copy of ${dashboard.name}`.slice(0, 256) };
  try {
    const made = await sendDocument("POST", "/api/dashboards", JSON.stringify(copy));
    location.assign(`/console/dashboards/${encodeURIComponent(made.id)}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The copy was not saved: ${error.message}`, true);
  }
}

async function share(event) {
  const body = JSON.stringify({ ...dashboard.definition, shared: event.target.checked });
  try {
    show(await sendDocument("PUT", `/api/dashboards/${encodeURIComponent(id)}`, body));
    say(dashboard.shared ? "Shared with everyone in the tenant." : "Only you see this dashboard now.");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    event.target.checked = !event.target.checked;
    say(`Sharing did not change: ${error.message}`, true);
  }
}

function toggleEditor(open) {
  const panel = document.getElementById("editor-panel");
  panel.hidden = !open;
  document.getElementById("edit").setAttribute("aria-expanded", String(open));
  document.getElementById("problems").replaceChildren();
  if (open) {
    document.getElementById("definition").value = JSON.stringify(dashboard.definition, null, 2);
    document.getElementById("definition").focus();
  }
}

async function saveDocument(event) {
  event.preventDefault();
  try {
    show(await sendDocument("PUT", `/api/dashboards/${encodeURIComponent(id)}`, document.getElementById("definition").value));
    toggleEditor(false);
    say("Saved.");
    refresh();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblems(document.getElementById("problems"), error);
    say("The document was not saved.", true);
  }
}

async function remove() {
  try {
    await api(`/api/dashboards/${encodeURIComponent(id)}`, { method: "DELETE" });
    location.assign("/console/dashboards");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The dashboard was not deleted: ${error.message}`, true);
  }
}

function fillWorkspaces() {
  const choices = JSON.parse(picker.dataset.workspaces || "[]");
  picker.replaceChildren(...choices.map((w) => new Option(w.name, w.id)));
}

async function start() {
  fillWorkspaces();
  try {
    show(await api(`/api/dashboards/${encodeURIComponent(id)}`));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The dashboard could not be opened: ${error.message}`, true);
    return;
  }
  chooseDefaultRange(dashboard.definition);
  refresh();
}

document.getElementById("parameters").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
range.addEventListener("change", refresh);
picker.addEventListener("change", refresh);
document.getElementById("save-copy").addEventListener("click", saveCopy);
document.getElementById("share").addEventListener("change", share);
document.getElementById("edit").addEventListener("click", () => toggleEditor(document.getElementById("editor-panel").hidden));
document.getElementById("cancel").addEventListener("click", () => toggleEditor(false));
document.getElementById("editor").addEventListener("submit", saveDocument);
document.getElementById("delete").addEventListener("click", remove);
start();
