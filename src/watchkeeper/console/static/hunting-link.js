// "Open in hunting": a link to the hunting page with a workspace, a KQL query and a time window
// (/console/hunting?workspace=ID&query=...&from=ISO&to=ISO). An alert of a rule names its query,
// window and workspace in Graph's additionalData (the alerts_v2 route puts them there).

export function huntingUrl({ workspace, query, from, to }) {
  const params = new URLSearchParams({ workspace, query });
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  return `/console/hunting?${params}`;
}

// The alert's hunting URL, or null when the alert carries no query (alerts of other products).
export function alertHuntingUrl(alert) {
  const data = alert.additionalData ?? {};
  if (!data.query || !data.workspaceId) return null;
  return huntingUrl({ workspace: data.workspaceId, query: data.query, from: data.queryStartDateTime,
    to: data.queryEndDateTime });
}
