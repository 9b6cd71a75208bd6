// Calls to the public API with the console session: the same routes and bodies an API client uses.
// The session cookie is sent by the browser; state-changing requests carry the session's CSRF token.

const csrf = document.querySelector('meta[name="wk-csrf"]')?.content ?? "";

export class ApiError extends Error {}

function signIn() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/console/login?next=${next}`);
}

export async function api(path, { method = "GET", body, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signIn();
    throw new ApiError("the session has ended; sign in again");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    // the error body stays on the error: a KQL error's line and column, for the editor
    throw Object.assign(new ApiError(data?.error?.message ?? `the server answered ${response.status}`),
      { status: response.status, body: data });
  }
  return data;
}

// An OData string literal: single quotes doubled (OData ABNF, SQUOTE-in-string).
export function odataString(text) {
  return `'${text.replaceAll("'", "''")}'`;
}

export function currentUser() {
  return document.getElementById("wk-user")?.textContent ?? "";
}
