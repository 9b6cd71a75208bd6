// The dashboards list: the built-in ones and the tenant's the user may see (GET /api/dashboards),
// and a form that creates one from a YAML or JSON document (POST /api/dashboards).

import { api, ApiError } from "./api.js";
import { sendDocument, showProblems } from "./dashboard-api.js";
import { element, say } from "./format.js";

const table = document.getElementById("dashboards");

function row(dashboard) {
  const link = element("a", { text: dashboard.name, href: `/console/dashboards/${encodeURIComponent(dashboard.id)}` });
  const owner = dashboard.builtin ? "Built in" : dashboard.owner;
  const scope = dashboard.builtin || dashboard.shared ? "Everyone in the tenant" : "Only you";
  const tr = element("tr", {}, [element("td", {}, [link]), element("td", { text: dashboard.description }),
    element("td", { text: owner }), element("td", { text: scope })]);
  tr.dataset.id = dashboard.id;
  return tr;
}

async function load() {
  table.setAttribute("aria-busy", "true");
  try {
    const body = await api("/api/dashboards");
    table.tBodies[0].replaceChildren(...body.value.map(row));
    say(`${body.value.length} dashboards.`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(`The dashboards could not be listed: ${error.message}`, true);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

document.getElementById("new-dashboard").addEventListener("submit", async (event) => {
  event.preventDefault();
  const problems = document.getElementById("problems");
  problems.replaceChildren();
  try {
    const made = await sendDocument("POST", "/api/dashboards", document.getElementById("document").value);
    location.assign(`/console/dashboards/${encodeURIComponent(made.id)}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblems(problems, error);
    say("The dashboard was not created.", true);
  }
});

load();
