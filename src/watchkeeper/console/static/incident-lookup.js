// Related events of an entity: one KQL query through POST /v1/workspaces/{id}/query over the
// incident's time window, counting the events per table that name the entity and collecting the
// hosts, accounts and IP addresses those events name. User data enters the query only as KQL string
// literals (kqlString), never as query text.

import { api } from "./api.js";

// A KQL string literal: double quotes, with backslash, quote and control characters escaped
// (Kusto "String data type": \\ \" \uXXXX), so no value can end the literal or the query.
export function kqlString(text) {
  const escaped = String(text)
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return `"${escaped}"`;
}

// kind -> the tables looked in: how a row names the entity, and which columns name its neighbours
const LOOKUPS = {
  account: [
    { table: "SecurityEvent", where: (v) => `Account has ${v} or TargetUserName =~ ${v}`, host: "Computer", account: "Account", ip: "IpAddress" },
    { table: "SigninLogs", where: (v) => `UserPrincipalName has ${v}`, host: null, account: "UserPrincipalName", ip: "IPAddress" },
    { table: "DeviceLogonEvents", where: (v) => `AccountName =~ ${v}`, host: "DeviceName", account: "AccountName", ip: "RemoteIP" },
  ],
  host: [
    { table: "SecurityEvent", where: (v) => `Computer has ${v}`, host: "Computer", account: "Account", ip: "IpAddress" },
    { table: "DeviceProcessEvents", where: (v) => `DeviceName has ${v}`, host: "DeviceName", account: "AccountName", ip: null },
    { table: "DeviceLogonEvents", where: (v) => `DeviceName has ${v}`, host: "DeviceName", account: "AccountName", ip: "RemoteIP" },
    { table: "Syslog", where: (v) => `Computer has ${v} or HostName =~ ${v}`, host: "Computer", account: null, ip: "HostIP" },
  ],
  ip: [
    { table: "SecurityEvent", where: (v) => `IpAddress == ${v}`, host: "Computer", account: "Account", ip: null },
    { table: "SigninLogs", where: (v) => `IPAddress == ${v}`, host: null, account: "UserPrincipalName", ip: null },
    { table: "CommonSecurityLog", where: (v) => `SourceIP == ${v} or DestinationIP == ${v}`, host: "Computer", account: "SourceUserName", ip: "DestinationIP" },
    { table: "DeviceNetworkEvents", where: (v) => `RemoteIP == ${v} or LocalIP == ${v}`, host: "DeviceName", account: "InitiatingProcessAccountName", ip: "RemoteIP" },
  ],
};

export const LOOKUP_KINDS = Object.keys(LOOKUPS);

function column(name) {
  return name ? `tostring(${name})` : '""';
}

// The KQL that counts the entity's events per table and names the entities they mention.
export function relatedQuery(kind, value) {
  const literal = kqlString(value);
  const legs = LOOKUPS[kind].map((l) => `(${l.table} | where ${l.where(literal)} | project SourceTable=`
    + `${kqlString(l.table)}, Host=${column(l.host)}, Account=${column(l.account)}, IP=${column(l.ip)})`);
  return `union ${legs.join(",\n  ")}\n| summarize Events=count(), Hosts=make_set_if(Host, isnotempty(Host), 20), `
    + "Accounts=make_set_if(Account, isnotempty(Account), 20), IPs=make_set_if(IP, isnotempty(IP), 20) by SourceTable";
}

function list(value) {
  if (Array.isArray(value)) return value;
  try { return JSON.parse(value ?? "[]"); } catch { return []; }
}

// The lookup's answer: {counts: [[table, events]...] for every table looked in, related: [{kind, value}]}
export async function lookUp(workspace, kind, value, timespan) {
  const query = relatedQuery(kind, value);
  const body = await api(`/v1/workspaces/${encodeURIComponent(workspace)}/query`, {
    method: "POST", body: { query, timespan },
  });
  const table = body.tables?.[0] ?? { columns: [], rows: [] };
  const at = Object.fromEntries(table.columns.map((c, i) => [c.name, i]));
  const events = Object.fromEntries(table.rows.map((r) => [r[at.SourceTable], r[at.Events]]));
  const counts = LOOKUPS[kind].map((l) => [l.table, events[l.table] ?? 0]);
  const related = table.rows.flatMap((r) => [
    ...list(r[at.Hosts]).map((v) => ({ kind: "host", value: v })),
    ...list(r[at.Accounts]).map((v) => ({ kind: "account", value: v })),
    ...list(r[at.IPs]).map((v) => ({ kind: "ip", value: v })),
  ]);
  return { query, counts, related, partial: body.error?.message ?? null };
}
