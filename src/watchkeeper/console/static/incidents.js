// The incidents queue: GET /v1.0/security/incidents with $filter/$orderby built from the filters,
// bulk changes as one PATCH per incident (Graph has no batch update of incidents), and live updates:
// the server-sent events of GET /api/incidents/events re-read the list (same filters) as soon as an
// incident is created or changed; the list is also re-read every 15 seconds, which is all that is
// left when the stream cannot be opened or has ended.

import { api, ApiError, odataString } from "./api.js";
import { CLASSIFICATION, SEVERITY, STATUS, badge, element, say, when } from "./format.js";

const REFRESH_SECONDS = 15;
const PAGE_SIZE = 200; // rows per "Show more"; the API serves at most 1,000 in one answer
const MAX_ROWS = 1000;
let limit = PAGE_SIZE;
const filters = document.getElementById("filters");
const rows = document.querySelector("#incidents tbody");
const selected = new Set();
let known = null; // ids seen on the last load: new ones are announced
// loads overlap (the refresh timer, Apply, Show more): only the latest one issued may draw the list,
// and the table says it is busy until that one has
let issued = 0;
const table = document.getElementById("incidents");
const arrived = new Set(); // incidents the stream said were created since the list was last drawn
let refreshTimer = null;

function filterClauses(form) {
  const clauses = [];
  const value = (name) => form.elements[name].value.trim();
  if (value("status")) clauses.push(`status eq ${odataString(value("status"))}`);
  if (value("severity")) clauses.push(`severity eq ${odataString(value("severity"))}`);
  const owner = value("owner");
  if (owner.toLowerCase() === "none") clauses.push("assignedTo eq null");
  else if (owner) clauses.push(`assignedTo eq ${odataString(owner)}`);
  if (value("text")) clauses.push(`contains(displayName, ${odataString(value("text"))})`);
  if (value("created")) {
    const since = new Date(Date.now() - Number(value("created")) * 3600 * 1000);
    clauses.push(`createdDateTime ge ${since.toISOString().replace(/\.\d+Z$/, "Z")}`);
  }
  return clauses;
}

function listUrl() {
  const params = new URLSearchParams({
    $top: String(limit), $orderby: filters.elements.sort.value, $count: "true",
  });
  const clauses = filterClauses(filters);
  if (clauses.length) params.set("$filter", clauses.join(" and "));
  return `/v1.0/security/incidents?${params}`;
}

function row(incident) {
  const box = element("input", { type: "checkbox", "aria-label": `Select ${incident.displayName}` });
  box.checked = selected.has(incident.id);
  box.dataset.id = incident.id;
  box.addEventListener("change", () => {
    box.checked ? selected.add(incident.id) : selected.delete(incident.id);
    showSelection();
  });
  const link = element("a", { text: incident.displayName, href: `/console/incidents/${encodeURIComponent(incident.id)}` });
  return element("tr", { "data-id": incident.id }, [
    element("td", {}, [box]), element("td", {}, [link]),
    element("td", {}, [badge("severity", incident.severity, SEVERITY)]),
    element("td", {}, [badge("status", incident.status, STATUS)]),
    element("td", { text: incident.assignedTo ?? "—" }),
    element("td", { text: CLASSIFICATION[incident.classification] ?? incident.classification }),
    element("td", { text: when(incident.createdDateTime) }),
    element("td", { text: when(incident.lastUpdateDateTime) }),
  ]);
}

function showSelection() {
  document.getElementById("selected-count").textContent = `${selected.size} selected`;
  const boxes = rows.querySelectorAll("input[type=checkbox]");
  document.getElementById("select-all").checked = boxes.length > 0 && [...boxes].every((b) => b.checked);
}

async function load() {
  const mine = ++issued;
  table.setAttribute("aria-busy", "true");
  try {
    const data = await api(listUrl());
    if (mine !== issued) return; // a newer load will draw the list
    const incidents = data.value;
    const fresh = known === null ? [] : incidents.filter((i) => !known.has(i.id));
    known = new Set(incidents.map((i) => i.id));
    for (const id of [...selected]) if (!known.has(id)) selected.delete(id);
    rows.replaceChildren(...incidents.map(row));
    document.getElementById("empty").hidden = incidents.length > 0;
    document.getElementById("refreshed").textContent = `${incidents.length} shown, refreshed ${new Date().toLocaleTimeString()}`;
    showLimit(incidents.length, data["@odata.count"]);
    announce(fresh.length);
    showSelection();
  } catch (error) {
    if (mine !== issued) return;
    if (error instanceof ApiError) say(error.message, true);
    else throw error;
  } finally {
    if (mine === issued) table.setAttribute("aria-busy", "false");
  }
}

// "N new incidents arrived": those the stream announced, or the new rows of a re-read list.
function announce(newRows) {
  const count = Math.max(arrived.size, newRows);
  const hidden = arrived.size > newRows ? ` (${newRows} shown with these filters)` : "";
  arrived.clear();
  if (count) say(`${count} new incident${count > 1 ? "s" : ""} arrived${hidden}`);
}

function liveMode(mode, text) {
  const note = document.getElementById("live-mode");
  note.dataset.mode = mode;
  note.textContent = text;
}

// A burst of events (a rule run creating many incidents) is one re-read of the list.
function refreshSoon() {
  if (refreshTimer !== null) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    load();
  }, 300);
}

function watch() {
  if (typeof EventSource === "undefined") return liveMode("polling", `Refreshed from the API every ${REFRESH_SECONDS} seconds`);
  const source = new EventSource("/api/incidents/events");
  source.addEventListener("open", () => liveMode("live", "Live: updated as incidents are created or changed"));
  source.addEventListener("incident", (event) => {
    const incident = JSON.parse(event.data);
    if (incident.change === "created") arrived.add(incident.id);
    refreshSoon();
  });
  const fallBack = (why) => {
    source.close();
    liveMode("polling", `Live updates stopped (${why}); refreshed from the API every ${REFRESH_SECONDS} seconds`);
  };
  source.addEventListener("end", () => fallBack("the session has ended"));
  // EventSource reconnects by itself after a dropped connection; it gives up (CLOSED) on a refusal
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) fallBack("the server refused the stream");
    else liveMode("reconnecting", "Live updates reconnecting…");
  });
}

// The queue shows at most `limit` rows: say so when more match, and offer more up to MAX_ROWS.
function showLimit(shown, total) {
  const more = typeof total === "number" && total > shown;
  document.getElementById("more-note").hidden = !more;
  if (!more) return;
  document.getElementById("more-text").textContent = `Showing ${shown} of ${total} matching incidents.`;
  document.getElementById("more").hidden = limit >= MAX_ROWS;
}

async function changeSelected(changes, done) {
  if (!selected.size) return say("Select one or more incidents first.", true);
  const ids = [...selected];
  const failures = [];
  for (const id of ids) {
    try {
      await api(`/v1.0/security/incidents/${encodeURIComponent(id)}`, { method: "PATCH", body: changes });
    } catch (error) {
      failures.push(error.message);
    }
  }
  selected.clear();
  await load();
  if (failures.length) say(`${ids.length - failures.length} of ${ids.length} ${done}; refused: ${failures[0]}`, true);
  else say(`${ids.length} incident${ids.length > 1 ? "s" : ""} ${done}`);
}

document.getElementById("more").addEventListener("click", () => {
  limit = Math.min(limit + PAGE_SIZE, MAX_ROWS);
  load();
});
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  known = null;
  limit = PAGE_SIZE;
  load();
});
document.getElementById("select-all").addEventListener("change", (event) => {
  for (const box of rows.querySelectorAll("input[type=checkbox]")) {
    box.checked = event.target.checked;
    box.checked ? selected.add(box.dataset.id) : selected.delete(box.dataset.id);
  }
  showSelection();
});
document.getElementById("b-assign").addEventListener("click", () => {
  const owner = document.getElementById("b-owner").value.trim();
  changeSelected({ assignedTo: owner || null }, owner ? `assigned to ${owner}` : "unassigned");
});
document.getElementById("b-close").addEventListener("click", () => {
  const classification = document.getElementById("b-classification").value;
  if (!classification) return say("Choose a classification to close incidents with.", true);
  changeSelected({ status: "resolved", classification }, "closed");
});

load();
setInterval(load, REFRESH_SECONDS * 1000);
watch();
