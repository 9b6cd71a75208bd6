// The change and comment forms an incident and an alert page share: PATCH the item with what the
// form changed, POST a comment, "assign to me"; each action reloads the page's item and says how
// it went.

import { api, ApiError, currentUser } from "./api.js";
import { say } from "./format.js";

// Run `action`, reload, then say `success`; an API error is said instead. True when it worked.
export async function act(action, success, reload, options) {
  try {
    await action();
    await reload(options);
    say(success);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(error.message, true);
    return false;
  }
}

// Wire the page's #change form (PATCH `path` with `changes()`), its #c-me button and #comment form.
export function wireChanges({ path, changes, reload }) {
  const change = document.getElementById("change");
  change.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = changes();
    if (!Object.keys(body).length) return say("Nothing to change.");
    act(() => api(path, { method: "PATCH", body }), "Saved.", reload);
  });
  document.getElementById("c-me").addEventListener("click", () => {
    change.elements.owner.value = currentUser();
    change.elements.owner.focus();
  });
  document.getElementById("comment").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = document.getElementById("comment-text");
    act(() => api(`${path}/comments`, { method: "POST", body: { comment: text.value } }), "Comment added.", reload,
      { keepEdits: true }).then((done) => { if (done) text.value = ""; });
  });
}
