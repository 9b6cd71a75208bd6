// One alert (the page Graph's alertWebUrl points to): GET /v1.0/security/alerts_v2/{id} for the
// summary, evidence, MITRE techniques, query and comments; PATCH of the same route for status,
// assignment, classification and determination; POST .../comments to comment.

import { api, ApiError } from "./api.js";
import { wireChanges } from "./change-form.js";
import { entityOf } from "./entity-graph.js";
import { CLASSIFICATION, SEVERITY, badge, element, say, when } from "./format.js";
import { alertHuntingUrl } from "./hunting-link.js";

const id = document.getElementById("alert").dataset.alertId;
const path = `/v1.0/security/alerts_v2/${encodeURIComponent(id)}`;
const change = document.getElementById("change");
const ALERT_STATUS = { new: "New", inProgress: "In progress", resolved: "Resolved" };
let alert = null;

function summary(item) {
  const entries = [
    ["Status", badge("status", item.status, ALERT_STATUS)],
    ["Severity", badge("severity", item.severity, SEVERITY)],
    ["Assigned to", item.assignedTo ?? "Unassigned"],
    ["Classification", CLASSIFICATION[item.classification] ?? item.classification],
    ["Determination", item.determination],
    ["Category", item.category ?? "—"],
    ["Detected by", `${item.productName} (${item.detectorId})`],
    ["First activity", when(item.firstActivityDateTime)],
    ["Last activity", when(item.lastActivityDateTime)],
    ["Created", when(item.createdDateTime)],
    ["Id", item.id],
  ];
  return entries.flatMap(([term, value]) => [
    element("dt", { text: term }),
    element("dd", {}, [typeof value === "string" || value == null ? document.createTextNode(value ?? "") : value]),
  ]);
}

function evidenceItem(evidence) {
  const entity = entityOf(evidence);
  const kind = (evidence["@odata.type"] ?? "").split(".").pop().replace(/Evidence$/, "");
  return element("li", {}, [element("span", { className: "entity-kind", text: kind }),
    document.createTextNode(` ${entity?.label ?? ""}`)]);
}

function showQuery(item) {
  const data = item.additionalData ?? {};
  document.getElementById("query").textContent = data.query ?? "This alert carries no query.";
  document.getElementById("query-window").textContent = data.queryStartDateTime
    ? `The rule ${data.ruleName ?? item.detectorId} ran over ${when(data.queryStartDateTime)} to ${when(data.queryEndDateTime)}.` : "";
  const url = alertHuntingUrl(item);
  document.getElementById("hunting").replaceChildren(...(url ? [element("a", { href: url, text: "Open in hunting",
    className: "hunt-link" })] : []));
}

function show(item, { keepEdits = false } = {}) {
  alert = item;
  document.getElementById("title").textContent = item.title;
  document.title = `${item.title} · watchkeeper`;
  document.getElementById("summary").replaceChildren(...summary(item));
  document.getElementById("description").textContent = item.description ?? "";
  document.getElementById("incident-link").replaceChildren(...(item.incidentId ? [document.createTextNode("Incident: "),
    element("a", { href: `/console/incidents/${encodeURIComponent(item.incidentId)}`, text: "open the alert's incident" })] : []));
  document.getElementById("techniques").replaceChildren(...(item.mitreTechniques ?? []).map((t) => element("li", {}, [
    element("a", { className: "badge", text: t, href: `https://attack.mitre.org/techniques/${t.replace(".", "/")}/`,
      rel: "noreferrer noopener", target: "_blank" })])));
  const evidence = item.evidence ?? [];
  document.getElementById("evidence").replaceChildren(...(evidence.length ? evidence.map(evidenceItem)
    : [element("li", { text: "No evidence." })]));
  showQuery(item);
  document.getElementById("comments").replaceChildren(...(item.comments ?? []).map((c) => element("li", {}, [
    element("time", { text: when(c.createdDateTime), datetime: c.createdDateTime ?? "" }),
    element("span", { className: "who", text: ` ${c.createdByDisplayName}: ` }), element("span", { text: c.comment })])));
  if (keepEdits) return;
  change.elements.status.value = item.status;
  change.elements.owner.value = item.assignedTo ?? "";
  change.elements.classification.value = item.classification ?? "unknown";
  change.elements.determination.value = item.determination ?? "unknown";
}

async function load(options) {
  try {
    show(await api(path), options);
    say("");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(error.message, true);
  }
}

function changes() {
  const form = change.elements;
  const wanted = { status: form.status.value, assignedTo: form.owner.value.trim() || null,
    classification: form.classification.value, determination: form.determination.value };
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== (alert[key] ?? null)));
}


wireChanges({ path, changes, reload: load });

load();
