// Charts for `render` as inline SVG: time, area, scatter, bar, column and pie charts with axis
// labels and a legend; each is an image with a text description and its data as a table beside it.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 860;
const HEIGHT = 320;
const PAD = { left: 64, right: 170, top: 16, bottom: 48 };
const COLOURS = ["#0b5cad", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c", "#8d6a3f", "#444"];
const NUMERIC = new Set(["int", "long", "real", "decimal"]);
export const VISUALIZATIONS = ["timechart", "linechart", "areachart", "scatterchart", "barchart", "columnchart",
  "piechart"];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

// The columns a chart uses: x, the y columns and the column whose values name the series, from the
// render options (`xcolumn`, `ycolumns`, `series`) where given, else chosen by type.
function roles(columns, visualization, options) {
  const named = (name) => columns.findIndex((c) => c.name === name);
  const numeric = columns.map((c, i) => [c, i]).filter(([c]) => NUMERIC.has(c.type));
  const time = columns.findIndex((c) => c.type === "datetime");
  const categorical = ["barchart", "columnchart", "piechart"].includes(visualization);
  const wantedX = options.xcolumn ? named(options.xcolumn) : -1;
  const label = options.series?.length ? named(options.series[0]) : columns.findIndex((c, i) => c.type === "string" && i !== wantedX);
  const x = wantedX >= 0 ? wantedX : categorical ? (label >= 0 ? label : 0) : (time >= 0 ? time : numeric[0]?.[1] ?? 0);
  const chosen = (options.ycolumns ?? []).map((name) => [columns[named(name)], named(name)]).filter(([, i]) => i >= 0);
  const ys = chosen.length ? chosen : numeric.filter(([, i]) => i !== x);
  const kind = categorical ? "category" : columns[x]?.type === "datetime" ? "time" : "number";
  return { x, ys, label: label === x ? -1 : label, kind, categorical };
}

// The series to draw: [{name, points: [[x, y]]}], with the x column and kind ("time", "number", "category").
export function seriesOf(columns, rows, visualization, options = {}) {
  const { x, ys, label, kind, categorical } = roles(columns, visualization, options);
  const value = (row) => (kind === "time" ? Date.parse(row[x]) : kind === "number" ? Number(row[x]) : String(row[x]));
  if (!categorical && label >= 0 && ys.length > 0) { // one series per value of the label column
    const groups = new Map();
    for (const row of rows) {
      const name = String(row[label] ?? "");
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push([value(row), Number(row[ys[0][1]])]);
    }
    return { x: columns[x], kind, yName: ys[0][0].name, series: [...groups].map(([name, points]) => ({ name, points })) };
  }
  const series = ys.map(([column, i]) => ({ name: column.name, points: rows.map((row) => [value(row), Number(row[i])]) }));
  return { x: columns[x], kind, yName: ys.map(([c]) => c.name).join(", "), series };
}

function ticks(low, high, count = 5) {
  if (high === low) return [low];
  return Array.from({ length: count + 1 }, (_, i) => low + ((high - low) * i) / count);
}

function short(value) {
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function axisLabel(kind, value) {
  if (kind !== "time") return short(value);
  return new Date(value).toISOString().slice(5, 16).replace("T", " ");
}

// Axes with ticks and the two axis titles; returns x(v) and y(v) scales.
function axes(root, { xLow, xHigh, yLow, yHigh, kind, xName, yName }) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (v) => PAD.left + (xHigh === xLow ? plotW / 2 : ((v - xLow) / (xHigh - xLow)) * plotW);
  const y = (v) => PAD.top + plotH - (yHigh === yLow ? plotH / 2 : ((v - yLow) / (yHigh - yLow)) * plotH);
  const group = svg("g", { class: "axes" });
  group.append(svg("line", { x1: PAD.left, y1: PAD.top + plotH, x2: WIDTH - PAD.right, y2: PAD.top + plotH }));
  group.append(svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + plotH }));
  for (const t of ticks(yLow, yHigh)) {
    group.append(svg("text", { x: PAD.left - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, short(t)));
  }
  if (kind !== "category") {
    for (const t of ticks(xLow, xHigh, 4)) {
      group.append(svg("text", { x: x(t), y: PAD.top + plotH + 16, "text-anchor": "middle", class: "tick" }, axisLabel(kind, t)));
    }
  }
  group.append(svg("text", { x: PAD.left + plotW / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "axis-title" }, xName));
  group.append(svg("text", { x: 14, y: PAD.top + plotH / 2, "text-anchor": "middle", class: "axis-title",
    transform: `rotate(-90 14 ${PAD.top + plotH / 2})` }, yName));
  root.append(group);
  return { x, y, base: PAD.top + plotH };
}

function bounds(data) {
  const points = data.series.flatMap((s) => s.points).filter(([px, py]) => Number.isFinite(py) && (data.kind === "category" || Number.isFinite(px)));
  const xs = points.map(([px]) => px);
  const ys = points.map(([, py]) => py);
  const [yMin, yMax] = data.yRange ?? [];
  return { xLow: Math.min(...xs), xHigh: Math.max(...xs), yLow: Number.isFinite(yMin) ? yMin : Math.min(0, ...ys),
    yHigh: Number.isFinite(yMax) ? yMax : Math.max(0, ...ys) };
}

function drawLines(root, data, visualization) {
  const b = bounds(data);
  const scale = axes(root, { ...b, kind: data.kind, xName: data.xTitle, yName: data.yTitle });
  data.series.forEach((series, n) => {
    const points = series.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)).sort((p, q) => p[0] - q[0]);
    const colour = COLOURS[n % COLOURS.length];
    const group = svg("g", { class: "series", "data-series": series.name });
    const path = points.map(([px, py]) => `${scale.x(px).toFixed(1)},${scale.y(py).toFixed(1)}`).join(" ");
    if (visualization === "areachart" && points.length) {
      const first = scale.x(points[0][0]).toFixed(1);
      const last = scale.x(points.at(-1)[0]).toFixed(1);
      group.append(svg("polygon", { points: `${first},${scale.base} ${path} ${last},${scale.base}`, fill: colour, "fill-opacity": 0.25 }));
    }
    if (visualization !== "scatterchart") group.append(svg("polyline", { points: path, fill: "none", stroke: colour, "stroke-width": 2 }));
    for (const [px, py] of points) {
      group.append(svg("circle", { cx: scale.x(px), cy: scale.y(py), r: visualization === "scatterchart" ? 4 : 2.5, fill: colour }));
    }
    root.append(group);
  });
}

function drawBars(root, data, visualization) {
  const categories = [...new Set(data.series.flatMap((s) => s.points.map(([px]) => px)))];
  const { yLow, yHigh } = bounds(data);
  const horizontal = visualization === "barchart";
  const scale = axes(root, { xLow: 0, xHigh: 1, yLow: horizontal ? 0 : yLow, yHigh: horizontal ? 0 : yHigh,
    kind: "category", xName: data.xTitle, yName: data.yTitle });
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const band = (horizontal ? plotH : plotW) / Math.max(1, categories.length);
  const width = (band * 0.8) / Math.max(1, data.series.length);
  const length = (v) => (horizontal ? ((v - Math.min(0, yLow)) / ((yHigh - Math.min(0, yLow)) || 1)) * plotW : scale.base - scale.y(v));
  data.series.forEach((series, n) => {
    const group = svg("g", { class: "series", "data-series": series.name });
    for (const [category, value] of series.points) {
      const at = categories.indexOf(category) * band + band * 0.1 + n * width;
      const size = Math.max(0, length(value));
      group.append(horizontal
        ? svg("rect", { x: PAD.left, y: PAD.top + at, width: size, height: width, fill: COLOURS[n % COLOURS.length] })
        : svg("rect", { x: PAD.left + at, y: scale.base - size, width, height: size, fill: COLOURS[n % COLOURS.length] }));
    }
    root.append(group);
  });
  categories.slice(0, 30).forEach((category, i) => {
    const middle = i * band + band / 2;
    root.append(horizontal
      ? svg("text", { x: PAD.left + 4, y: PAD.top + middle + 4, class: "tick" }, category)
      : svg("text", { x: PAD.left + middle, y: scale.base + 16, "text-anchor": "middle", class: "tick" }, category));
  });
}

function drawPie(root, data) {
  const slices = (data.series[0]?.points ?? []).filter(([, v]) => v > 0);
  const total = slices.reduce((sum, [, v]) => sum + v, 0) || 1;
  const [cx, cy, r] = [WIDTH / 2 - 120, HEIGHT / 2, HEIGHT / 2 - 24];
  let angle = -Math.PI / 2;
  data.series = slices.map(([name, value], n) => {
    const sweep = (value / total) * Math.PI * 2;
    const end = angle + sweep;
    const point = (a) => `${(cx + r * Math.cos(a)).toFixed(1)},${(cy + r * Math.sin(a)).toFixed(1)}`;
    const d = slices.length === 1
      ? `M ${cx - r},${cy} a ${r},${r} 0 1,0 ${2 * r},0 a ${r},${r} 0 1,0 ${-2 * r},0`
      : `M ${cx},${cy} L ${point(angle)} A ${r},${r} 0 ${sweep > Math.PI ? 1 : 0},1 ${point(end)} Z`;
    const group = svg("g", { class: "series", "data-series": name });
    group.append(svg("path", { d, fill: COLOURS[n % COLOURS.length] }));
    root.append(group);
    angle = end;
    return { name: String(name), points: [[name, value]] };
  });
}

function legend(root, series) {
  const group = svg("g", { class: "legend" });
  series.slice(0, 12).forEach((s, n) => {
    const y = PAD.top + n * 18;
    group.append(svg("rect", { x: WIDTH - 156, y, width: 12, height: 12, fill: COLOURS[n % COLOURS.length] }));
    group.append(svg("text", { x: WIDTH - 138, y: y + 11, class: "legend-label" }, s.name));
  });
  root.append(group);
}

function fallback(columns, rows) {
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "Chart data as a table";
  const table = document.createElement("table");
  table.className = "grid";
  const head = table.createTHead().insertRow();
  for (const column of columns) head.append(Object.assign(document.createElement("th"), { textContent: column.name, scope: "col" }));
  const body = table.createTBody();
  for (const row of rows.slice(0, 500)) {
    const tr = body.insertRow();
    for (const value of row) tr.insertCell().textContent = value === null ? "" : String(value);
  }
  details.append(summary, table);
  return details;
}

// Draw `visualization` of the result into container; false when the result has nothing to plot.
// `options` are the query's render properties (title, xtitle, ytitle, xcolumn, ycolumns, series,
// legend=hidden, ymin, ymax), as the Log Analytics route returns them.
export function drawChart(container, visualization, columns, rows, options = {}) {
  const data = seriesOf(columns, rows, visualization, options);
  if (data.series.length === 0 || rows.length === 0) return false;
  data.xTitle = options.xtitle || data.x.name;
  data.yTitle = options.ytitle || data.yName;
  data.yRange = [Number.parseFloat(options.ymin), Number.parseFloat(options.ymax)];
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: `chart chart-${visualization}` });
  const description = `${options.title ? `${options.title}: ` : ""}${visualization} of ${data.yName} by ${data.x.name}: ${data.series.length} series`
    + ` (${data.series.slice(0, 5).map((s) => s.name).join(", ")}), ${rows.length} rows`;
  root.setAttribute("aria-label", description);
  root.append(svg("title", {}, description));
  if (visualization === "piechart") drawPie(root, data);
  else if (visualization === "barchart" || visualization === "columnchart") drawBars(root, data, visualization);
  else drawLines(root, data, visualization);
  if (options.legend !== "hidden") legend(root, data.series);
  const parts = options.title ? [Object.assign(document.createElement("p"), { className: "chart-title", textContent: options.title })] : [];
  container.replaceChildren(...parts, root, fallback(columns, rows));
  return true;
}
