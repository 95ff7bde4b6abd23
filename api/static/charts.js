/* Win / podium chances by lap and tyre degradation by stint (uPlot), each with a legend that
 * fits: a row of small chips under the chart, never one line per series. The win chart shows
 * the leading cars and the selected ones; the degradation chart the selected cars' stints. */
"use strict";

const charts = { prob: null, probKey: "", deg: null, degKey: "" };
const MAX_DEG_DRIVERS = 4;

function chartSize(el, height = 240) { return { width: Math.max(el.clientWidth - 4, 280), height }; }

function topDrivers(history, mode, selected) {
  const last = history[history.length - 1];
  const ranked = last ? Object.entries(last[mode] || {}).sort((a, b) => b[1] - a[1]).map((x) => x[0]) : [];
  const out = [...new Set([...selected, ...ranked.slice(0, mode === "win" ? 5 : 6)])];
  return out.slice(0, 8).sort();
}

function renderProb(el, legendEl, s, ctx) {
  const mode = s.probMode, hist = s.history;
  const drivers = topDrivers(hist, mode, s.selected);
  const key = mode + drivers.join(",") + [...s.selected].join(",");
  const data = [hist.map((h) => h.lap), ...drivers.map((d) => hist.map((h) => (h[mode]?.[d] ?? null) * 100))];
  renderLegend(legendEl, drivers.map((d) => ({
    key: d, colour: ctx.colour(d), hot: s.selected.has(d),
    label: `${d} ${pct(hist[hist.length - 1]?.[mode]?.[d])}`,
  })), ctx.toggle);
  if (charts.prob && key === charts.probKey) { charts.prob.setData(data); return; }
  if (charts.prob) charts.prob.destroy();
  charts.probKey = key;
  charts.prob = new uPlot({
    ...chartSize(el), scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: chartAxes("lap", "%"), legend: { show: false },
    series: [{ label: "lap" }, ...drivers.map((d) => ({
      label: d, stroke: ctx.colour(d), width: s.selected.has(d) ? 2.5 : 1.5, points: { show: false },
    }))],
  }, data, el);
}

function degCurves(s) {
  let drivers = [...s.selected].filter((d) => s.stints.has(d)).sort().slice(0, MAX_DEG_DRIVERS);
  if (!drivers.length) drivers = [...s.stints.keys()].slice(0, 3);
  const curves = [];
  for (const d of drivers) {
    for (const [stint, ev] of s.stints.get(d) || []) {
      if (ev.intercept == null) continue;
      curves.push({ d, stint, ev, age: Math.round(ev.tyre_life || 0) });
    }
  }
  return curves;
}

function renderDeg(el, legendEl, s, ctx) {
  const curves = degCurves(s);
  const maxAge = Math.max(10, ...curves.map((c) => c.age + (c.ev.predicted_laps?.length || 0)));
  const xs = Array.from({ length: maxAge + 1 }, (_, i) => i);
  const series = [{ label: "tyre age" }], data = [xs], items = [];
  for (const c of curves) {
    const line = (x) => c.ev.intercept + c.ev.slope * x;
    const ahead = c.age + (c.ev.predicted_laps?.length || 0);
    series.push({ label: `${c.d} S${c.stint}`, stroke: ctx.colour(c.d), width: 2, points: { show: false } });
    series.push({ label: `${c.d} S${c.stint} next`, stroke: compoundColour(c.ev.compound), width: 1.5, dash: [6, 4], points: { show: false } });
    data.push(xs.map((x) => (x <= c.age ? line(x) : null)), xs.map((x) => (x >= c.age && x <= ahead ? line(x) : null)));
    items.push({
      key: c.d, colour: ctx.colour(c.d), hot: s.selected.has(c.d),
      label: `${c.d} S${c.stint} ${(c.ev.compound || "?")[0]} ${(c.ev.slope * 1000).toFixed(0)} ms/lap`,
      title: `${c.d} stint ${c.stint} on ${c.ev.compound}: ${(c.ev.slope * 1000).toFixed(0)} ms per lap of tyre age (dashed: the next laps)`,
    });
  }
  renderLegend(legendEl, items, ctx.toggle);
  const key = curves.map((c) => `${c.d}${c.stint}`).join("|");
  if (charts.deg && key === charts.degKey) { charts.deg.setData(data); return; }
  if (charts.deg) charts.deg.destroy();
  charts.degKey = key;
  charts.deg = new uPlot({
    ...chartSize(el), scales: { x: { time: false } }, axes: chartAxes("tyre age (laps)", " s"),
    series, legend: { show: false },
  }, data, el);
}

function resizeCharts() {
  for (const [p, id] of [[charts.prob, "prob-chart"], [charts.deg, "deg-chart"], [race.plot, "trace-chart"]]) {
    if (p) p.setSize({ width: Math.max($(id).clientWidth - 4, 280), height: p.height });
  }
}
