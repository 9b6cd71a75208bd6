// The hunting results grid: the returned table with sortable columns, a column chooser, and exports
// to CSV and JSON made in the browser from the table the API returned (no second query).

const SHOWN_ROWS = 1000; // rows drawn in the page; exports carry every returned row

function cellText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function compare(type) {
  const numeric = ["int", "long", "real", "decimal"].includes(type);
  return (a, b) => {
    if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
    if (b === null || b === undefined) return -1;
    if (numeric) return Number(a) - Number(b);
    if (type === "datetime") return Date.parse(a) - Date.parse(b);
    return cellText(a).localeCompare(cellText(b));
  };
}

// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled.
export function toCsv(columns, rows) {
  const field = (value) => {
    const text = cellText(value);
    return /[",\r\n]/u.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns.map((c) => field(c.name)), ...rows.map((row) => row.map(field))]
    .map((line) => line.join(",")).join("\r\n") + "\r\n";
}

export function toJson(columns, rows) {
  return JSON.stringify(rows.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]]))), null, 2);
}

function download(name, type, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export class ResultsGrid {
  constructor({ table, chooser, count, csvButton, jsonButton }) {
    Object.assign(this, { table, chooser, count });
    this.columns = [];
    this.rows = [];
    this.hidden = new Set();
    this.sort = null; // {index, descending}
    csvButton.addEventListener("click", () => download("query-results.csv", "text/csv", toCsv(...this.visible())));
    jsonButton.addEventListener("click", () => download("query-results.json", "application/json", toJson(...this.visible())));
  }

  show(columns, rows) {
    Object.assign(this, { columns, rows, sort: null });
    this.hidden = new Set();
    this.chooseColumns();
    this.draw();
  }

  // The shown columns and every row (in the current order), restricted to those columns.
  visible() {
    const keep = this.columns.map((_, i) => i).filter((i) => !this.hidden.has(i));
    return [keep.map((i) => this.columns[i]), this.ordered().map((row) => keep.map((i) => row[i]))];
  }

  ordered() {
    if (!this.sort) return this.rows;
    const order = compare(this.columns[this.sort.index].type);
    const sorted = [...this.rows].sort((a, b) => order(a[this.sort.index], b[this.sort.index]));
    return this.sort.descending ? sorted.reverse() : sorted;
  }

  chooseColumns() {
    const legend = this.chooser.querySelector("legend");
    this.chooser.replaceChildren(legend, ...this.columns.map((column, index) => {
      const label = document.createElement("label");
      const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: true });
      box.addEventListener("change", () => {
        if (box.checked) this.hidden.delete(index); else this.hidden.add(index);
        this.draw();
      });
      label.append(box, ` ${column.name}`);
      return label;
    }));
  }

  draw() {
    const [columns, rows] = this.visible();
    const keep = this.columns.map((_, i) => i).filter((i) => !this.hidden.has(i));
    const head = document.createElement("tr");
    columns.forEach((column, n) => head.append(this.header(column, keep[n])));
    this.table.tHead.replaceChildren(head);
    const body = this.table.tBodies[0];
    body.replaceChildren(...rows.slice(0, SHOWN_ROWS).map((row) => {
      const tr = document.createElement("tr");
      for (const value of row) tr.insertCell().textContent = cellText(value);
      return tr;
    }));
    const more = rows.length > SHOWN_ROWS ? ` (the first ${SHOWN_ROWS} shown; exports carry all)` : "";
    this.count.textContent = `${rows.length} ${rows.length === 1 ? "row" : "rows"}${more}`;
  }

  header(column, index) {
    const th = Object.assign(document.createElement("th"), { scope: "col" });
    const sorted = this.sort?.index === index;
    th.setAttribute("aria-sort", sorted ? (this.sort.descending ? "descending" : "ascending") : "none");
    const button = Object.assign(document.createElement("button"), { type: "button", className: "sort" });
    button.textContent = column.name + (sorted ? (this.sort.descending ? " ▼" : " ▲") : "");
    button.title = `Sort by ${column.name} (${column.type})`;
    button.addEventListener("click", () => {
      this.sort = { index, descending: sorted && !this.sort.descending };
      this.draw();
      this.table.tHead.querySelectorAll("button")[[...this.visibleIndexes()].indexOf(index)]?.focus();
    });
    th.append(button);
    return th;
  }

  *visibleIndexes() {
    for (let i = 0; i < this.columns.length; i += 1) if (!this.hidden.has(i)) yield i;
  }
}
