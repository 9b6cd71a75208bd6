// The incident's entity graph: incident -> alerts -> entities -> related entities, drawn as inline
// SVG in columns, with the same graph as a nested list beside it (for screen readers and small
// screens). Every node is focusable; an alert node opens the alert, an account, host or IP node
// asks for its related events (onExpand), whose entities join the graph in the next column.

import { element } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const COLUMNS = [110, 340, 570, 800];
const NODE = { width: 200, height: 34 };
const ROW = 48;
const KIND_LABEL = { incident: "Incident", alert: "Alert", account: "Account", host: "Host", ip: "IP address",
  url: "URL", file: "File", process: "Process", mailbox: "Mailbox", other: "Entity" };
const PREFIX = "#microsoft.graph.security.";

// An evidence object of a Graph alert as a graph entity {kind, value, label}, or null.
export function entityOf(evidence) {
  const type = (evidence["@odata.type"] ?? "").replace(PREFIX, "");
  if (type === "userEvidence") {
    const user = evidence.userAccount ?? {};
    const value = user.accountName || user.userPrincipalName;
    return value && { kind: "account", value, label: user.userPrincipalName || value };
  }
  if (type === "deviceEvidence") {
    const value = evidence.hostName || evidence.deviceDnsName;
    return value && { kind: "host", value, label: evidence.deviceDnsName || value };
  }
  if (type === "ipEvidence") return evidence.ipAddress && { kind: "ip", value: evidence.ipAddress, label: evidence.ipAddress };
  if (type === "urlEvidence") return evidence.url && { kind: "url", value: evidence.url, label: evidence.url };
  const text = Object.values(evidence).find((v) => typeof v === "string" && v && !v.startsWith(PREFIX)
    && !/^\d{4}-\d\d-\d\dT/.test(v) && !["suspicious", "none"].includes(v));
  return text ? { kind: type.replace(/Evidence$/, "") || "other", value: text, label: text } : null;
}

// An account as the lookups match it: "CONTOSO\alice" and "alice@contoso.com" are alice.
export function accountName(value) {
  return String(value).split("\\").pop().split("@")[0];
}

export class EntityGraph {
  constructor({ container, list, expandable, onExpand, onOpen }) {
    Object.assign(this, { container, list, expandable, onExpand, onOpen });
    this.nodes = new Map();
    this.edges = new Set();
    this.selected = null;
  }

  static key(kind, value) {
    return `${kind}:${String(kind === "account" ? accountName(value) : value).toLowerCase()}`;
  }

  add(node, parent) {
    const key = node.key ?? EntityGraph.key(node.kind, node.value);
    if (!this.nodes.has(key)) this.nodes.set(key, { ...node, key });
    if (parent && parent !== key) this.edges.add(`${parent}|${key}`);
    return key;
  }

  // The incident, its alerts and their evidence as the first three columns.
  load(incident) {
    this.nodes.clear();
    this.edges.clear();
    const root = this.add({ key: "incident", kind: "incident", column: 0, label: incident.displayName });
    for (const alert of incident.alerts ?? []) {
      const alertKey = this.add({ key: `alert:${alert.id}`, kind: "alert", column: 1, label: alert.title, id: alert.id }, root);
      for (const evidence of alert.evidence ?? []) {
        const entity = entityOf(evidence);
        if (entity) this.add({ ...entity, column: 2 }, alertKey);
      }
    }
    this.draw();
  }

  // Entities a lookup of `parentKey` found: new ones join the next column; known ones get an edge.
  grow(parentKey, related) {
    const parent = this.nodes.get(parentKey);
    const added = [];
    for (const entity of related) {
      const key = EntityGraph.key(entity.kind, entity.value);
      if (!this.nodes.has(key)) added.push(key);
      this.add({ ...entity, label: entity.value, column: Math.min(parent.column + 1, COLUMNS.length - 1) }, parentKey);
    }
    this.draw();
    return added.map((k) => this.nodes.get(k));
  }

  describe(node) {
    const kind = KIND_LABEL[node.kind] ?? node.kind;
    if (node.kind === "alert") return `${kind} ${node.label}: open the alert`;
    if (this.expandable(node.kind)) return `${kind} ${node.label}: look up related events`;
    return `${kind} ${node.label}`;
  }

  activate(node) {
    if (node.kind === "alert") this.onOpen(node);
    else if (this.expandable(node.kind)) {
      this.selected = node.key;
      this.onExpand(node);
      this.draw();
    }
  }

  draw() {
    this.drawSvg();
    this.list.replaceChildren(...this.listItems("incident", new Set()));
  }

  layout() {
    const rows = [0, 0, 0, 0];
    const at = new Map();
    for (const node of this.nodes.values()) at.set(node.key, { x: COLUMNS[node.column], y: 30 + ROW * rows[node.column]++ });
    return { at, height: 30 + ROW * Math.max(...rows, 1) };
  }

  drawSvg() {
    const { at, height } = this.layout();
    const svg = document.createElementNS(SVG, "svg");
    const width = COLUMNS[COLUMNS.length - 1] + NODE.width / 2 + 10;
    for (const [name, value] of Object.entries({ viewBox: `0 0 ${width} ${height}`, class: "entity-graph",
      role: "group", "aria-label": `Entity graph: ${this.nodes.size} nodes` })) svg.setAttribute(name, value);
    const lines = [...this.edges].map((edge) => {
      const [from, to] = edge.split("|").map((k) => at.get(k));
      return svgElement("line", { x1: from.x + NODE.width / 2, y1: from.y, x2: to.x - NODE.width / 2, y2: to.y, class: "edge" });
    });
    svg.append(svgElement("g", { "aria-hidden": "true" }, lines), ...[...this.nodes.values()].map((n) => this.svgNode(n, at.get(n.key))));
    this.container.replaceChildren(svg);
  }

  svgNode(node, { x, y }) {
    const active = node.kind === "alert" || this.expandable(node.kind);
    const group = svgElement("g", {
      class: `node node-${node.kind}${node.key === this.selected ? " selected" : ""}`, tabindex: "0",
      role: active ? "button" : "img", "aria-label": this.describe(node), "data-key": node.key,
    }, [
      svgElement("rect", { x: x - NODE.width / 2, y: y - NODE.height / 2, width: NODE.width, height: NODE.height, rx: 8 }),
      svgElement("text", { x, y: y + 4, "text-anchor": "middle" }, [], shorten(`${KIND_LABEL[node.kind] ?? node.kind}: ${node.label}`)),
      svgElement("title", {}, [], `${KIND_LABEL[node.kind] ?? node.kind}: ${node.label}`),
    ]);
    if (active) group.setAttribute("aria-pressed", String(node.key === this.selected));
    if (node.kind === "alert") group.removeAttribute("aria-pressed");
    group.addEventListener("click", () => this.activate(node));
    group.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      this.activate(node);
      this.container.querySelector(`[data-key="${CSS.escape(node.key)}"]`)?.focus();
    });
    return group;
  }

  listItems(key, seen) {
    const node = this.nodes.get(key);
    if (!node || seen.has(key)) return [];
    seen.add(key);
    const children = [...this.edges].filter((e) => e.startsWith(`${key}|`)).map((e) => e.split("|")[1]);
    const label = element("span", { text: `${KIND_LABEL[node.kind] ?? node.kind}: ${node.label}` });
    const actions = node.kind === "alert" || this.expandable(node.kind)
      ? [document.createTextNode(" "), element("button", { type: "button", className: "link",
        text: node.kind === "alert" ? "Open" : "Related events", "aria-label": this.describe(node) })] : [];
    actions[1]?.addEventListener("click", () => this.activate(node));
    const nested = children.flatMap((child) => this.listItems(child, seen));
    return [element("li", { "data-key": key }, [label, ...actions, ...(nested.length ? [element("ul", {}, nested)] : [])])];
  }
}

function shorten(text, limit = 28) {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function svgElement(tag, attributes = {}, children = [], text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  node.append(...children);
  return node;
}
