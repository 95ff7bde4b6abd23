/* The race so far, drawn from ``GET /sessions/{key}/race-chart`` and then each live lap:
 *  - the strategy chart: one bar per driver across the laps, a segment per stint in its
 *    compound's colour, the plan ahead dashed (the engine's pit window shaded), retirements
 *    crossed out;
 *  - the race trace: each car's gap to the first car to complete the same lap, at the line
 *    (the standings rules' gap, so the last lap's is the classification's), pit stops as
 *    dots, SC/VSC/red periods shaded; a driver filter for its 20 lines, and a click on a
 *    driver highlights it (here, in the tower and in the other charts). */
"use strict";

const race = {
  laps: new Map(),   // driver -> Map(lap -> {lap, gap, laps_down, compound, stint, tyre_life, pit_in, pit_out})
  out: new Map(),    // driver -> {out_lap, out_reason}
  periods: [],       // [{state, start, end}] in leader laps
  total: 0,
  filter: "all",     // "all" | "top10" | "selected"
  plot: null, plotKey: "",
};

function resetRace() {
  race.laps.clear(); race.out.clear(); race.periods = []; race.total = 0;
}

function addLapPoint(driver, p) {
  if (p.gap == null || !p.lap) return;
  if (!race.laps.has(driver)) race.laps.set(driver, new Map());
  race.laps.get(driver).set(p.lap, p);
}

/* The stored race (history), kept to the laps the snapshot had (``upto``: driver -> lap):
   later laps come as live updates, in their turn (the broadcast delay holds them back). */
function loadRaceChart(body, upto) {
  race.total = body.laps_total || race.total;
  for (const d of body.drivers) {
    const last = upto.get(d.driver);
    for (const p of d.laps) if (last == null || p.lap <= last) addLapPoint(d.driver, p);
    if (d.out_lap != null) race.out.set(d.driver, { out_lap: d.out_lap, out_reason: d.out_reason });
  }
  race.periods = body.track.map((t) => ({ ...t }));
}

/* A track-status change at ``lapNow`` (leader laps, fractional). */
function trackChange(state, lapNow) {
  const open = race.periods.length && race.periods[race.periods.length - 1].end == null
    ? race.periods[race.periods.length - 1] : null;
  const kind = state === "vsc_ending" ? "vsc" : state;
  if (open && open.state !== kind) open.end = lapNow;
  if (["sc", "vsc", "red"].includes(kind) && (!open || open.state !== kind)) {
    race.periods.push({ state: kind, start: lapNow, end: null });
  }
}

/* Stints per driver: consecutive laps of one stint (or compound where the stint is unknown). */
function stintsOf(driver) {
  const laps = [...(race.laps.get(driver)?.values() || [])].sort((a, b) => a.lap - b.lap);
  const out = [];
  for (const p of laps) {
    const last = out[out.length - 1];
    const same = last && (p.stint != null && last.stint != null ? p.stint === last.stint : p.compound === last.compound);
    if (same) { last.to = p.lap; if (!last.compound && p.compound) last.compound = p.compound; }
    else out.push({ stint: p.stint, compound: p.compound, from: p.lap, to: p.lap });
  }
  return out;
}

/* ---------------------------------------------------------------- strategy chart (SVG) */
function renderStrategyChart(el, order, ctx) {
  const total = Math.max(ctx.total || race.total || 0, ctx.lap, 1);
  const W = Math.max(el.clientWidth, 320), rowH = 16, left = 44, right = 8, top = 16;
  const x = (lap) => left + ((W - left - right) * lap) / total;
  const parts = [];
  for (let k = 0; k <= total; k += total > 40 ? 10 : 5) {
    parts.push(`<line class="grid" x1="${x(k)}" x2="${x(k)}" y1="${top - 4}" y2="${top + order.length * rowH}"/>`);
    parts.push(`<text class="tick" x="${x(k)}" y="10" text-anchor="middle">${k}</text>`);
  }
  order.forEach((r, i) => {
    const y = top + i * rowH, d = r.driver;
    const dim = r.out ? " out" : "";
    parts.push(`<g class="srow${ctx.selected.has(d) ? " hot" : ""}${dim}" data-driver="${esc(d)}">`);
    parts.push(`<text class="name" x="${left - 6}" y="${y + 11}" text-anchor="end">${esc(d)}</text>`);
    for (const s of stintsOf(d)) {
      parts.push(`<rect class="stint" data-compound="${esc(s.compound || "")}" data-from="${s.from}" data-to="${s.to}" x="${x(s.from - 1)}" y="${y + 2}" width="${Math.max(x(s.to) - x(s.from - 1) - 1, 1)}" height="${rowH - 4}" fill="${compoundColour(s.compound)}"><title>${esc(d)} stint ${esc(s.stint ?? "")}: ${esc(s.compound || "?")} laps ${s.from}-${s.to}</title></rect>`);
    }
    const rec = r.out ? null : ctx.recs.get(d);
    if (rec && (r.lap_number || 0) < total) parts.push(planned(rec, r, x, y, rowH, total));
    const out = race.out.get(d) || (r.out ? { out_lap: r.out_lap, out_reason: r.out_reason } : null);
    if (out?.out_lap != null) {
      const cx = x(out.out_lap);
      parts.push(`<g class="retired-mark"><title>${esc(d)} out after lap ${out.out_lap}${out.out_reason ? ": " + esc(out.out_reason) : ""}</title><path d="M${cx - 4} ${y + 3} l8 ${rowH - 6} M${cx + 4} ${y + 3} l-8 ${rowH - 6}"/></g>`);
    }
    parts.push("</g>");
  });
  parts.push(`<line class="now" x1="${x(ctx.lap)}" x2="${x(ctx.lap)}" y1="${top - 4}" y2="${top + order.length * rowH}"/>`);
  el.innerHTML = `<svg width="${W}" height="${top + order.length * rowH + 4}" data-testid="strategy-svg">${parts.join("")}</svg>`;
}

/* The plan ahead of one car: its tyres to the best lap of its window (or the flag), the window
   shaded, then the recommended compound to the flag, dashed. */
function planned(rec, r, x, y, rowH, total) {
  const now = r.lap_number || 0, win = rec.pit_window;
  const stop = win ? Math.min(Math.max(win.best_lap, now), total) : total;
  const out = [];
  if (win) {
    out.push(`<rect class="window" x="${x(Math.max(win.open_lap - 1, now))}" y="${y}" width="${Math.max(x(win.close_lap) - x(Math.max(win.open_lap - 1, now)), 1)}" height="${rowH}"><title>pit window L${win.open_lap}-${win.close_lap}, best L${win.best_lap}</title></rect>`);
  }
  const seg = (from, to, compound) => (to > from ? `<rect class="plan" x="${x(from) + 1}" y="${y + 4}" width="${Math.max(x(to) - x(from) - 2, 1)}" height="${rowH - 8}" stroke="${compoundColour(compound)}"><title>plan: ${esc(compound || "?")} laps ${from + 1}-${to}</title></rect>` : "");
  out.push(seg(now, stop, r.compound || rec.compound));
  if (win) out.push(seg(stop, total, rec.recommended_compound));
  return out.join("");
}

/* ---------------------------------------------------------------- race trace (uPlot) */
function traceDrivers(order, selected) {
  const running = order.map((r) => r.driver).filter((d) => race.laps.has(d));
  if (race.filter === "top10") return running.slice(0, 10);
  if (race.filter === "selected" && selected.size) return running.filter((d) => selected.has(d));
  return running;
}

function renderTrace(el, legendEl, order, ctx) {
  const drivers = traceDrivers(order, ctx.selected);
  const maxLap = Math.max(0, ...drivers.map((d) => Math.max(...race.laps.get(d).keys())));
  const xs = Array.from({ length: maxLap }, (_, i) => i + 1);
  const data = [xs, ...drivers.map((d) => xs.map((lap) => race.laps.get(d).get(lap)?.gap ?? null))];
  const hot = ctx.selected;
  const key = drivers.join(",") + "|" + [...hot].join(",");
  renderLegend(legendEl, drivers.map((d) => ({ key: d, label: d, colour: ctx.colour(d), hot: hot.has(d) })), ctx.toggle);
  if (race.plot && key === race.plotKey) { race.plot.setData(data); return; }
  if (race.plot) race.plot.destroy();
  race.plotKey = key;
  const lapped = Math.max(60, ...drivers.flatMap((d) => [...race.laps.get(d).values()].filter((p) => !p.laps_down).map((p) => p.gap)));
  race.plot = new uPlot({
    width: Math.max(el.clientWidth - 4, 300), height: 300,
    scales: { x: { time: false }, y: { dir: -1, range: [-2, Math.min(lapped * 1.05, 200)] } },
    axes: chartAxes("lap", " s"),
    legend: { show: false },
    cursor: { focus: { prox: 16 } },
    focus: { alpha: 0.25 },
    series: [{ label: "lap" }, ...drivers.map((d) => ({
      label: d, stroke: ctx.colour(d), width: hot.size ? (hot.has(d) ? 3 : 1) : 1.5,
      alpha: hot.size && !hot.has(d) ? 0.35 : 1, points: { show: false }, spanGaps: false,
    }))],
    hooks: { draw: [(u) => drawTraceMarks(u, drivers, ctx)] },
  }, data, el);
}

function drawTraceMarks(u, drivers, ctx) {
  const c = u.ctx, top = u.bbox.top, h = u.bbox.height;
  c.save();
  for (const p of race.periods) {
    const x0 = u.valToPos(p.start, "x", true), x1 = u.valToPos(p.end ?? ctx.lap, "x", true);
    c.fillStyle = p.state === "sc" ? "rgba(255,140,0,.18)" : p.state === "red" ? "rgba(220,0,0,.2)" : "rgba(255,200,80,.12)";
    c.fillRect(x0, top, Math.max(x1 - x0, 2), h);
    c.fillStyle = "#c9a227"; c.font = `${10 * devicePixelRatio}px sans-serif`;
    c.fillText(p.state.toUpperCase(), x0 + 3, top + 12 * devicePixelRatio);
  }
  drivers.forEach((d) => {
    c.fillStyle = ctx.colour(d); c.strokeStyle = "#fff"; c.lineWidth = devicePixelRatio;
    for (const p of race.laps.get(d).values()) {
      if (!p.pit_in) continue;
      const x = u.valToPos(p.lap, "x", true), y = u.valToPos(p.gap, "y", true);
      if (y < top || y > top + h) continue;
      c.beginPath(); c.arc(x, y, 3.5 * devicePixelRatio, 0, 2 * Math.PI); c.fill(); c.stroke();
    }
  });
  c.restore();
}
