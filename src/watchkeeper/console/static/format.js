// Display names and formats shared by the pages. Text always goes in with textContent, never as HTML.

export const STATUS = { active: "New", inProgress: "In progress", resolved: "Closed", redirected: "Merged" };
export const CLASSIFICATION = {
  truePositive: "True positive", falsePositive: "False positive",
  informationalExpectedActivity: "Benign (expected activity)", unknown: "Undetermined",
};
export const SEVERITY = { high: "High", medium: "Medium", low: "Low", informational: "Informational" };

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function element(tag, { text, className, ...attributes } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function badge(kind, value, labels) {
  return element("span", { text: labels[value] ?? value ?? "", className: `badge ${kind}-${value}` });
}

export function say(message, isError = false) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}
