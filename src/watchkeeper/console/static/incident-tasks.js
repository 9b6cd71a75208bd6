// The incident's tasks: GET/POST /api/incidents/{id}/tasks and PATCH .../tasks/{taskId} with the
// session. A task is a checkbox labelled with its title: checking it completes the task,
// unchecking reopens it.

import { api, ApiError } from "./api.js";
import { element, say } from "./format.js";

export class IncidentTasks {
  constructor(incidentId) {
    this.path = `/api/incidents/${encodeURIComponent(incidentId)}/tasks`;
    this.list = document.getElementById("tasks");
    this.form = document.getElementById("task-add");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
  }

  async load() {
    try {
      const body = await api(this.path);
      this.show(body.value);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const note = document.getElementById("tasks-empty");
      note.textContent = `Tasks could not be read: ${error.message}`;
      note.hidden = false;
    }
  }

  show(tasks) {
    this.list.replaceChildren(...tasks.map((task) => this.item(task)));
    document.getElementById("tasks-empty").hidden = tasks.length > 0;
    this.list.dataset.count = String(tasks.length);
  }

  item(task) {
    const box = element("input", { type: "checkbox", id: `task-${task.id}` });
    box.checked = task.status === "Completed";
    box.addEventListener("change", () => this.change(task, box));
    return element("li", { className: `task task-${task.status.toLowerCase()}`, "data-id": task.id }, [
      box, element("label", { for: box.id, text: task.title }),
      element("span", { className: "meta", text: ` ${task.status === "Completed" ? "Completed" : "Open"} · added by ${task.createdBy}` }),
    ]);
  }

  async change(task, box) {
    const status = box.checked ? "Completed" : "New";
    try {
      await api(`${this.path}/${encodeURIComponent(task.id)}`, { method: "PATCH", body: { status } });
      say(status === "Completed" ? `Task completed: ${task.title}` : `Task reopened: ${task.title}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      say(error.message, true);
    }
    await this.load();
  }

  async add() {
    const input = this.form.elements.title;
    try {
      const task = await api(this.path, { method: "POST", body: { title: input.value } });
      input.value = "";
      say(`Task added: ${task.title}`);
      await this.load();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      say(error.message, true);
    }
  }
}
