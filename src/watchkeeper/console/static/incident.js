// One incident: GET /v1.0/security/incidents/{id}?$expand=alerts for the summary, alerts, their
// evidence (entities) and comments; PATCH for changes; POST .../comments to comment. Tasks come from
// /api/incidents/{id}/tasks (incident-tasks.js); the entity graph expands an entity with a KQL
// lookup through /v1/workspaces/{id}/query (entity-graph.js, incident-lookup.js).

import { api, ApiError } from "./api.js";
import { wireChanges } from "./change-form.js";
import { EntityGraph, accountName } from "./entity-graph.js";
import { CLASSIFICATION, SEVERITY, STATUS, badge, element, say, when } from "./format.js";
import { alertHuntingUrl, huntingUrl } from "./hunting-link.js";
import { IncidentTasks } from "./incident-tasks.js";
import { LOOKUP_KINDS, lookUp } from "./incident-lookup.js";

const id = document.getElementById("incident").dataset.incidentId;
const path = `/v1.0/security/incidents/${encodeURIComponent(id)}`;
const change = document.getElementById("change");
let incident = null;

function summary(item) {
  const entries = [
    ["Status", badge("status", item.status, STATUS)],
    ["Severity", badge("severity", item.severity, SEVERITY)],
    ["Owner", item.assignedTo ?? "Unassigned"],
    ["Classification", CLASSIFICATION[item.classification] ?? item.classification],
    ["Determination", item.determination],
    ["Created", when(item.createdDateTime)],
    ["Updated", when(item.lastUpdateDateTime)],
    ["Tags", (item.customTags ?? []).join(", ") || "—"],
    ["Id", item.id],
  ];
  return entries.flatMap(([term, value]) => [
    element("dt", { text: term }),
    element("dd", {}, [typeof value === "string" ? document.createTextNode(value ?? "") : value]),
  ]);
}

const EVIDENCE_PREFIX = "#microsoft.graph.security.";

function evidenceLabel(evidence) {
  const kind = (evidence["@odata.type"] ?? "").replace(EVIDENCE_PREFIX, "").replace(/Evidence$/, "");
  const facts = Object.entries(evidence)
    .filter(([key, value]) => !key.startsWith("@") && !["createdDateTime", "verdict", "remediationStatus"].includes(key)
      && (typeof value === "string" || typeof value === "number") && value !== "")
    .slice(0, 4)
    .map(([key, value]) => `${key}: ${value}`);
  return [kind, facts.join(" · ") || nested(evidence)];
}

function nested(evidence) {
  const inner = Object.values(evidence).find((v) => v && typeof v === "object" && !Array.isArray(v));
  if (!inner) return "";
  return Object.entries(inner).filter(([, v]) => typeof v === "string" && v).slice(0, 3)
    .map(([k, v]) => `${k}: ${v}`).join(" · ");
}

function alertCard(alert) {
  const entities = (alert.evidence ?? []).map((evidence) => {
    const [kind, facts] = evidenceLabel(evidence);
    return element("li", {}, [element("span", { text: kind, className: "entity-kind" }), document.createTextNode(` ${facts}`)]);
  });
  const hunting = alertHuntingUrl(alert);
  return element("article", { className: "alert", "data-alert-id": alert.id }, [
    element("h3", {}, [element("a", { text: alert.title, href: `/console/alerts/${encodeURIComponent(alert.id)}` })]),
    element("p", { className: "meta" }, [
      badge("severity", alert.severity, SEVERITY),
      document.createTextNode(` ${when(alert.createdDateTime)} · ${alert.status}`
        + (alert.mitreTechniques?.length ? ` · ${alert.mitreTechniques.join(", ")}` : "")),
    ]),
    element("p", { text: alert.description ?? "" }),
    hunting ? element("p", {}, [element("a", { text: "Open in hunting", href: hunting, className: "hunt-link",
      "aria-label": `Open the query of ${alert.title} in hunting` })])
      : element("p", { className: "meta", text: "This alert carries no query to open in hunting." }),
    entities.length ? element("ul", { className: "entities", "aria-label": `Entities of ${alert.title}` }, entities)
      : element("p", { text: "No entities." }),
  ]);
}

function timeline(item) {
  const events = [
    { at: item.createdDateTime, who: "watchkeeper", text: "Incident created" },
    ...(item.alerts ?? []).map((a) => ({ at: a.createdDateTime, who: a.productName ?? "detection", text: `Alert: ${a.title}` })),
    ...(item.comments ?? []).map((c) => ({ at: c.createdDateTime, who: c.createdByDisplayName, text: c.comment, comment: true })),
  ].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  return events.map((e) => element("li", { className: e.comment ? "comment" : "" }, [
    element("time", { text: when(e.at), datetime: e.at ?? "" }),
    element("span", { text: ` ${e.who ?? ""}: `, className: "who" }),
    element("span", { text: e.text ?? "" }),
  ]));
}

function show(item, { keepEdits = false } = {}) {
  incident = item;
  document.getElementById("title").textContent = item.displayName;
  document.title = `${item.displayName} · watchkeeper`;
  document.getElementById("summary").replaceChildren(...summary(item));
  document.getElementById("description").textContent = item.description ?? "";
  document.getElementById("alerts").replaceChildren(...(item.alerts ?? []).map(alertCard));
  document.getElementById("timeline").replaceChildren(...timeline(item));
  const alertIds = (item.alerts ?? []).map((a) => a.id).join(",");
  if (graph.alertIds !== alertIds) { // a change or comment keeps the graph as the user expanded it
    graph.alertIds = alertIds;
    graph.load(item);
  }
  if (keepEdits) return; // a comment keeps what the user is changing in the form
  change.elements.status.value = item.status === "redirected" ? "resolved" : item.status;
  change.elements.owner.value = item.assignedTo ?? "";
  change.elements.severity.value = item.severity;
  change.elements.classification.value = item.classification ?? "unknown";
  change.elements.determination.value = item.determination ?? "unknown";
  change.elements.resolvingComment.value = item.resolvingComment ?? "";
}

async function load(options) {
  try {
    show(await api(`${path}?$expand=alerts`), options);
    say("");
  } catch (error) {
    if (error instanceof ApiError) say(error.message, true);
    else throw error;
  }
}

function changes() {
  const form = change.elements;
  const wanted = {
    status: form.status.value, assignedTo: form.owner.value.trim() || null, severity: form.severity.value,
    classification: form.classification.value, determination: form.determination.value,
    resolvingComment: form.resolvingComment.value.trim() || null,
  };
  const current = { ...incident, resolvingComment: incident.resolvingComment ?? null };
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== (current[key] ?? null)));
}


// ---------------------------------------------------------------------------- entity graph

const HOUR = 3600 * 1000;
const related = document.getElementById("related");
const graph = new EntityGraph({
  container: document.getElementById("graph"), list: document.getElementById("graph-list"),
  expandable: (kind) => LOOKUP_KINDS.includes(kind),
  onExpand: (node) => expand(node),
  onOpen: (node) => location.assign(`/console/alerts/${encodeURIComponent(node.id)}`),
});

// The incident's activity window (its alerts' first to last activity), an hour wider on each side.
function incidentWindow(item) {
  const times = (item.alerts ?? []).flatMap((a) => [a.firstActivityDateTime, a.lastActivityDateTime, a.createdDateTime])
    .filter(Boolean).map((t) => new Date(t).getTime());
  if (!times.length) times.push(new Date(item.createdDateTime).getTime());
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  return { from: iso(Math.min(...times) - HOUR), to: iso(Math.max(...times) + HOUR) };
}

function workspaceOf(item) {
  return (item.alerts ?? []).map((a) => a.additionalData?.workspaceId).find(Boolean) ?? null;
}

function showRelated(node, found, added, window, workspace) {
  const counts = found.counts.map(([table, events]) => element("li", { text: `${table}: ${events} event${events === 1 ? "" : "s"}` }));
  const fresh = added.length ? `New in the graph: ${added.map((n) => `${n.kind} ${n.label}`).join(", ")}.`
    : "No entities that are not in the graph already.";
  related.replaceChildren(
    element("h3", { text: `Related events of ${node.kind} ${node.label}` }),
    element("p", { className: "meta", text: `${when(window.from)} to ${when(window.to)}` }),
    element("ul", { className: "counts", "aria-label": "Events per table" }, counts),
    element("p", { className: "related-new", text: fresh }),
    ...(found.partial ? [element("p", { className: "error", text: `Partial result: ${found.partial}` })] : []),
    element("p", {}, [element("a", { text: "Open this lookup in hunting", className: "hunt-link",
      href: huntingUrl({ workspace, query: found.query, from: window.from, to: window.to }) })]),
  );
}

async function expand(node) {
  const workspace = workspaceOf(incident);
  if (!workspace) {
    related.replaceChildren(element("p", { text: "This incident's alerts name no workspace: related events cannot be looked up." }));
    return;
  }
  const window = incidentWindow(incident);
  related.replaceChildren(element("p", { text: `Looking up related events of ${node.kind} ${node.label}…` }));
  related.setAttribute("aria-busy", "true");
  try {
    const value = node.kind === "account" ? accountName(node.value) : node.value;
    const found = await lookUp(workspace, node.kind, value, `${window.from}/${window.to}`);
    showRelated(node, found, graph.grow(node.key, found.related), window, workspace);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    related.replaceChildren(element("p", { className: "error", text: `The lookup failed: ${error.message}` }));
  } finally {
    related.setAttribute("aria-busy", "false");
  }
}

// ---------------------------------------------------------------------------- changes and comments

wireChanges({ path, changes, reload: load });

load().then(() => { if (incident) new IncidentTasks(id).load(); }); // the tasks of an incident that was found
