// Dashboard documents sent as the author wrote them: JSON when the text is a JSON object, YAML
// otherwise (Content-Type: application/yaml), through the same /api/dashboards routes an API
// client uses, with the session's CSRF token. Errors keep the API's per-field details.

import { api, ApiError } from "./api.js";

const csrf = document.querySelector('meta[name="wk-csrf"]')?.content ?? "";

export function mediaTypeOf(text) {
  return text.trimStart().startsWith("{") ? "application/json" : "application/yaml";
}

export async function sendDocument(method, path, text) {
  const response = await fetch(path, {
    method, credentials: "same-origin", body: text,
    headers: { Accept: "application/json", "Content-Type": mediaTypeOf(text), "X-CSRF-Token": csrf },
  });
  if (response.status === 401) return api(path); // the session ended: api() sends the user to sign in
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    throw Object.assign(new ApiError(data?.error?.message ?? `the server answered ${response.status}`),
      { status: response.status, body: data });
  }
  return data;
}

// The API's problems as list items: "tiles[1].query (line 2, column 9): unknown column 'x'".
export function showProblems(list, error) {
  const details = error.body?.error?.details ?? [];
  const items = details.length ? details : [{ message: error.message }];
  list.replaceChildren(...items.map((d) => {
    const where = d.line ? ` (line ${d.line}, column ${d.column})` : "";
    return Object.assign(document.createElement("li"), {
      textContent: d.target ? `${d.target}${where}: ${d.message}` : d.message,
    });
  }));
}
