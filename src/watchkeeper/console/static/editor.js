// The hunting page's KQL editor: a plain textarea (so typing, selection, undo and screen readers
// behave as in any field) over a painted copy of its text that colours tokens and underlines the
// span of the last error; a suggestion list under the caret, driven by the keyboard.

const KEYWORDS = new Set(("where filter summarize project project-away project-rename project-reorder extend " +
  "take limit top sort order by asc desc join union lookup on kind let as count distinct render parse " +
  "mv-expand evaluate make-series range datatable print search find getschema invoke serialize sample " +
  "sample-distinct top-nested fork facet partition with and or not in !in has !has contains !contains " +
  "startswith endswith matches regex between inner leftouter rightouter fullouter innerunique leftanti " +
  "rightanti leftsemi rightsemi anti semi nulls first last true false null step from to of materialize " +
  "toscalar").split(" "));
// tabular operators offered after a pipe
const OPERATORS = ["where", "summarize", "project", "project-away", "extend", "take", "top", "sort by",
  "order by", "join", "union", "lookup", "distinct", "count", "render", "parse", "mv-expand", "make-series",
  "limit", "search", "getschema", "sample", "serialize", "as", "evaluate"];
// functions offered anywhere an expression may stand (the workspace's own functions are added)
export const FUNCTIONS = ["ago", "now", "bin", "floor", "count", "countif", "dcount", "dcountif", "sum",
  "sumif", "avg", "avgif", "min", "max", "arg_max", "arg_min", "make_set", "make_list", "make_bag",
  "percentile", "percentiles", "stdev", "variance", "any", "take_any", "strlen", "tolower", "toupper",
  "tostring", "toint", "tolong", "toreal", "todouble", "todatetime", "totimespan", "tobool", "todynamic",
  "parse_json", "extract", "extract_all", "split", "strcat", "strcat_delim", "substring", "replace_string",
  "trim", "iff", "iif", "case", "coalesce", "isempty", "isnotempty", "isnull", "isnotnull", "startofday",
  "startofweek", "startofmonth", "endofday", "datetime_diff", "datetime_add", "format_datetime",
  "dayofweek", "hourofday", "array_length", "pack", "bag_pack", "pack_array", "set_union", "ipv4_is_private",
  "ipv4_is_in_range", "parse_ipv4", "hash", "hash_sha256", "base64_decode_tostring", "round", "abs", "log",
  "exp", "pow", "sqrt", "series_decompose_anomalies", "row_number", "prev", "next"];

const TOKEN = new RegExp([
  String.raw`(?<comment>//[^\n]*)`,
  String.raw`(?<string>@?"(?:[^"\\\n]|\\.)*"?|@?'(?:[^'\\\n]|\\.)*'?)`,
  String.raw`(?<number>\b\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:d|h|m|s|ms|microsecond|tick)?\b)`,
  String.raw`(?<word>!?[A-Za-z_][A-Za-z0-9_]*(?:-[a-z]+)*)`,
  String.raw`(?<operator>==|!=|=~|!~|<=|>=|[|=<>+\-*/%!])`,
  String.raw`(?<space>\s+)`,
  String.raw`(?<other>.)`,
].join("|"), "gsu");

// The text as tokens: {kind, text, start, end}; words that are KQL keywords are "keyword".
export function tokenize(text) {
  const tokens = [];
  for (const match of text.matchAll(TOKEN)) {
    let kind = Object.keys(match.groups).find((name) => match.groups[name] !== undefined);
    if (kind === "word" && KEYWORDS.has(match[0].toLowerCase())) kind = "keyword";
    tokens.push({ kind, text: match[0], start: match.index, end: match.index + match[0].length });
  }
  return tokens;
}

// The offset of 1-based (line, column) in text.
export function offsetOf(text, line, column) {
  let offset = 0;
  for (let current = 1; current < line; current += 1) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return Math.min(text.length, offset + Math.max(0, column - 1));
}

export class KqlEditor {
  constructor(textarea, paint, list, { onRun, catalog }) {
    Object.assign(this, { textarea, paint, list, onRun, catalog });
    this.error = null; // {start, end, message}
    this.choices = [];
    this.active = -1;
    textarea.addEventListener("input", () => { this.error = null; this.repaint(); this.suggest(); });
    textarea.addEventListener("scroll", () => this.sync());
    textarea.addEventListener("keydown", (event) => this.key(event));
    textarea.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    list.addEventListener("mousedown", (event) => {
      const item = event.target.closest("li");
      if (item) { event.preventDefault(); this.accept(Number(item.dataset.index)); }
    });
    this.repaint();
  }

  get text() { return this.textarea.value; }

  // Underline the token that starts at the engine's 1-based (line, column), or clear with null.
  markError(line, column, message) {
    if (line == null) { this.error = null; this.repaint(); return; }
    const start = offsetOf(this.text, line, column ?? 1);
    const token = tokenize(this.text).find((t) => t.start <= start && start < t.end && t.kind !== "space");
    this.error = { start, end: Math.max(start + 1, token ? token.end : start + 1), message };
    this.repaint();
  }

  repaint() {
    const code = this.paint;
    code.replaceChildren();
    const text = this.text;
    for (const token of tokenize(text)) this.paintToken(code, token);
    code.append(document.createTextNode(text.endsWith("\n") ? " " : "")); // keep the last empty line's height
    this.sync();
  }

  paintToken(code, token) {
    const error = this.error;
    const pieces = error && token.start < error.end && error.start < token.end
      ? [[token.start, Math.max(token.start, error.start)], [Math.max(token.start, error.start),
        Math.min(token.end, error.end)], [Math.min(token.end, error.end), token.end]]
      : [[token.start, token.end]];
    pieces.forEach(([from, to], index) => {
      if (from >= to) return;
      const span = document.createElement("span");
      span.className = `tok-${token.kind}` + (pieces.length > 1 && index === 1 ? " tok-error" : "");
      if (span.classList.contains("tok-error")) span.title = error.message;
      span.textContent = this.text.slice(from, to);
      code.append(span);
    });
  }

  sync() {
    const pre = this.paint.parentElement;
    pre.scrollTop = this.textarea.scrollTop;
    pre.scrollLeft = this.textarea.scrollLeft;
  }

  key(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.close();
      this.onRun();
      return;
    }
    if (this.list.hidden) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      event.preventDefault();
      this.highlight((this.active + moves[event.key] + this.choices.length) % this.choices.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      this.accept(this.active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    }
  }

  // What is being typed at the caret and what may go there: tables, operators, or columns and functions.
  context() {
    const caret = this.textarea.selectionStart;
    const before = this.text.slice(0, caret);
    const prefix = /[A-Za-z_][A-Za-z0-9_-]*$/u.exec(before)?.[0] ?? "";
    const words = tokenize(before.slice(0, caret - prefix.length))
      .filter((t) => !["space", "comment"].includes(t.kind));
    const last = words.at(-1)?.text.toLowerCase();
    if (last === undefined || last === ";" || ["join", "union", "lookup", "("].includes(last) && this.tableSpot(words)) {
      // a query may also start with a workspace function (a stored function or an ASIM parser)
      const tables = this.catalog.tables().map((name) => ({ label: name, kind: "table" }));
      return { prefix, options: [...tables, ...this.catalog.functions().map((name) => ({ label: name, kind: "function" }))] };
    }
    if (last === "|") return { prefix, options: OPERATORS.map((name) => ({ label: name, kind: "operator" })) };
    const columns = this.catalog.columns(this.tableIn(this.text)).map((c) => ({ label: c.name, kind: c.type }));
    const functions = [...this.catalog.functions(), ...FUNCTIONS].map((name) => ({ label: name, kind: "function" }));
    return { prefix, options: [...columns, ...functions] };
  }

  tableSpot(words) {
    const last = words.at(-1).text.toLowerCase();
    return last !== "(" || ["join", "union", "lookup"].includes(words.at(-2)?.text.toLowerCase());
  }

  // The query's first table name (the table its columns come from).
  tableIn(text) {
    const known = new Set(this.catalog.tables());
    return tokenize(text).find((t) => t.kind === "word" && known.has(t.text))?.text ?? null;
  }

  suggest() {
    const { prefix, options } = this.context();
    const wanted = prefix.toLowerCase();
    const last = this.text.slice(0, this.textarea.selectionStart).trimEnd().at(-1);
    if (!prefix && last !== "|") { this.close(); return; }
    this.prefix = prefix;
    this.choices = options.filter((o) => o.label.toLowerCase().startsWith(wanted) && o.label !== prefix).slice(0, 12);
    if (this.choices.length === 0) { this.close(); return; }
    this.list.replaceChildren(...this.choices.map((choice, index) => {
      const item = document.createElement("li");
      item.id = `kql-choice-${index}`;
      item.setAttribute("role", "option");
      item.dataset.index = String(index);
      item.textContent = choice.label;
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = choice.kind;
      item.append(kind);
      return item;
    }));
    this.list.hidden = false;
    this.textarea.setAttribute("aria-expanded", "true");
    this.place();
    this.highlight(0);
  }

  highlight(index) {
    this.active = index;
    for (const item of this.list.children) item.setAttribute("aria-selected", String(item.dataset.index === String(index)));
    this.textarea.setAttribute("aria-activedescendant", `kql-choice-${index}`);
    this.list.children[index]?.scrollIntoView({ block: "nearest" });
  }

  accept(index) {
    const choice = this.choices[index];
    if (!choice) return;
    const caret = this.textarea.selectionStart;
    this.textarea.setRangeText(choice.label, caret - this.prefix.length, caret, "end");
    this.close();
    this.error = null;
    this.repaint();
  }

  close() {
    this.list.hidden = true;
    this.textarea.setAttribute("aria-expanded", "false");
    this.textarea.removeAttribute("aria-activedescendant");
  }

  // Put the list under the caret: the textarea is monospaced, so line and column give the spot.
  place() {
    const before = this.text.slice(0, this.textarea.selectionStart).split("\n");
    const style = getComputedStyle(this.textarea);
    const line = parseFloat(style.lineHeight) || 20;
    const width = this.charWidth ??= this.measure(style);
    const left = parseFloat(style.paddingLeft) + before.at(-1).length * width - this.textarea.scrollLeft;
    const top = parseFloat(style.paddingTop) + before.length * line - this.textarea.scrollTop;
    this.list.style.left = `${Math.min(left, this.textarea.clientWidth - 200)}px`;
    this.list.style.top = `${top + 2}px`;
  }

  measure(style) {
    const probe = document.createElement("span");
    probe.style.font = style.font;
    probe.style.visibility = "hidden";
    probe.textContent = "0".repeat(20);
    document.body.append(probe);
    const width = probe.getBoundingClientRect().width / 20;
    probe.remove();
    return width;
  }
}
