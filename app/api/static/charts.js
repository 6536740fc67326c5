// Small inline-SVG charts drawn from JSON: a time-series line chart and grouped horizontal
// bars. Text goes in through the DOM (textContent), like everywhere else in the dashboard.
"use strict";

const charts = (() => {
  const { el, svg, clock } = careloop;

  function niceTicks(lo, hi, count = 4) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / count;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toFixed(10));
    return ticks;
  }

  function fmt(v) {
    return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1).replace(/\.0$/, "") : v.toFixed(2).replace(/0$/, "");
  }

  /** The chart words in English, for pages that pass no ``say``. */
  const ENGLISH = {
    "chart.desc": "{title} from {from} to {to}: {count} readings, lowest {lo}, highest {hi}, latest {latest} {unit}.",
    "chart.desc_empty": "{title}: no readings from {from} to {to}.",
    "chart.latest": "latest {value}",
    "chart.none": "no readings",
  };
  function english(key, params = {}) {
    return ENGLISH[key].replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }

  /**
   * A line chart of one or more series sharing a y axis.
   * lines: [{label, color, points: [[ts_ms, value], ...]}]; range: [start_ms, end_ms].
   * A gap longer than ``gapMs`` breaks the line instead of drawing across missing data.
   * ``say`` is the page's translate function (chart.* keys); without it the words are English.
   */
  function lineChart({ title, unit, lines, range, gapMs, band, say = english }) {
    const W = 600, H = 190, L = 44, R = 12, T = 10, B = 26;
    const values = lines.flatMap((l) => l.points.map((p) => p[1])).filter((v) => typeof v === "number");
    const [t0, t1] = range;
    let lo = Math.min(...values), hi = Math.max(...values);
    if (band) {
      lo = Math.min(lo, band[0]);
      hi = Math.max(hi, band[1]);
    }
    if (hi - lo < 1e-9) {
      lo -= 1;
      hi += 1;
    }
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const x = (t) => L + ((t - t0) / (t1 - t0 || 1)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);

    const latest = lines.map((l) => {
      const last = l.points.at(-1);
      return last ? `${lines.length > 1 ? l.label + " " : ""}${fmt(last[1])}` : null;
    }).filter(Boolean).join(" / ");
    const span_s = { title, from: clock(t0, true), to: clock(t1, true) };
    const desc = values.length
      ? say("chart.desc", { ...span_s, count: values.length, lo: fmt(Math.min(...values)), hi: fmt(Math.max(...values)), latest, unit })
      : say("chart.desc_empty", span_s);

    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": desc, preserveAspectRatio: "xMidYMid meet" },
      svg("title", {}, desc));
    if (band) root.append(svg("rect", { class: "band", x: L, width: W - L - R, y: y(band[1]), height: Math.max(0, y(band[0]) - y(band[1])) }));
    for (const tv of niceTicks(lo, hi)) {
      root.append(
        svg("line", { class: "grid", x1: L, x2: W - R, y1: y(tv), y2: y(tv) }),
        svg("text", { x: L - 6, y: y(tv) + 4, "text-anchor": "end" }, fmt(tv)));
    }
    const span = t1 - t0;
    const withDate = span > 20 * 3600 * 1000;
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (span * i) / 4;
      const label = withDate
        ? new Date(t).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
        : new Date(t).toLocaleTimeString(undefined, span < 20 * 60 * 1000
          ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }  // minutes would repeat
          : { hour: "2-digit", minute: "2-digit" });
      root.append(svg("text", { x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, label));
    }
    root.append(
      svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }),
      svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (const line of lines) {
      // Runs of readings without a gap become one path each; a lone reading (vitals measured
      // every few minutes, or a short range) becomes a dot, which a path could not show.
      const runs = [];
      let prev = null;
      for (const [t, v] of line.points) {
        if (typeof v !== "number") continue;
        if (prev === null || (gapMs && t - prev > gapMs)) runs.push([]);
        runs.at(-1).push([x(t), y(v)]);
        prev = t;
      }
      const d = runs.filter((r) => r.length > 1)
        .map((r) => r.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join(""))
        .join("");
      if (d) root.append(svg("path", { class: "series", d, stroke: line.color, dataset: { series: line.key || line.label } }));
      for (const r of runs.filter((r) => r.length === 1)) {
        root.append(svg("circle", { class: "dot", cx: r[0][0].toFixed(1), cy: r[0][1].toFixed(1), r: 2.5, fill: line.color }));
      }
    }
    const caption = el("figcaption", {}, el("span", {}, `${title} (${unit})`), el("span", { class: "latest" }, latest ? say("chart.latest", { value: latest }) : say("chart.none")));
    return el("figure", { class: "chart" }, caption, root);
  }

  /**
   * Grouped horizontal bars. groups: [{label, values: {key: number|null}}];
   * series: [{key, label, cls}]. ``format`` turns a value into its label.
   */
  function barChart({ title, groups, series, format }) {
    const barH = 14, gap = 4, groupGap = 14, L = 120, R = 150, W = 600, T = 8;
    const H = T + groups.length * (series.length * (barH + gap) + groupGap) + 4;
    const all = groups.flatMap((g) => series.map((s) => g.values[s.key])).filter((v) => typeof v === "number");
    const max = Math.max(1e-9, ...all);
    const sx = (v) => (v / max) * (W - L - R);
    const parts = [];
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title }, svg("title", {}, title));
    let yPos = T;
    for (const g of groups) {
      root.append(svg("text", { x: L - 8, y: yPos + barH, "text-anchor": "end", "font-weight": "600" }, g.label));
      for (const s of series) {
        const v = g.values[s.key];
        const has = typeof v === "number";
        root.append(svg("rect", { class: s.cls, x: L, y: yPos, height: barH, width: has ? Math.max(1, sx(v)) : 0, dataset: { group: g.label, series: s.key } }));
        const label = has ? format(v, s.key) : "—";
        root.append(svg("text", { x: L + (has ? sx(v) : 0) + 4, y: yPos + barH - 3 }, `${s.label}: ${label}`));
        parts.push(`${g.label} ${s.label} ${label}`);
        yPos += barH + gap;
      }
      yPos += groupGap;
    }
    root.setAttribute("aria-label", `${title}. ${parts.join("; ")}.`);
    const legend = el("div", { class: "legend" }, series.map((s) => el("span", {}, el("span", { class: `swatch ${s.cls.replace("bar-", "")}` }), s.label)));
    return el("figure", { class: "chart" }, el("figcaption", {}, title), legend, root);
  }

  return { lineChart, barChart, fmt };
})();
