/* Compare page: two to six drivers of one session from /api/v1/compare/drivers. */
"use strict";

const cmp = { data: null, charts: [], loading: false };
window.pitwallCompare = cmp;

function align(seriesList) {
  // [[xs, ys], ...] -> uPlot data with one shared, sorted x.
  const xs = [...new Set(seriesList.flatMap(([x]) => x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  for (const [x, y] of seriesList) {
    const col = new Array(xs.length).fill(null);
    x.forEach((xv, i) => { col[at.get(xv)] = y[i]; });
    data.push(col);
  }
  return data;
}

function drawLaps(body, colours) {
  const list = [], series = [{ label: "lap" }];
  body.drivers.forEach(({ driver }, i) => {
    const s = body.laps[driver];
    const x = [], y = [];
    s.lap.forEach((lap, j) => { if (s.clean[j]) { x.push(lap); y.push(s.fuel_corrected[j]); } });
    list.push([x, y]);
    series.push({ label: driver, stroke: colours[i], width: 1.5, points: { show: true, size: 4 }, spanGaps: false });
  });
  $("laps-chart").innerHTML = "";
  cmp.charts.push(new uPlot(uplotOpts("", panelWidth("laps-chart"), 260, series), align(list), $("laps-chart")));
}

function drawDistribution(body, colours) {
  const svg = $("dist");
  const rows = body.distribution.filter((d) => d.laps > 0);
  if (!rows.length) { svg.innerHTML = `<text x="10" y="20" fill="#8a93a3">no clean laps</text>`; return; }
  const lo = Math.min(...rows.map((d) => d.min)), hi = Math.max(...rows.map((d) => d.max));
  const W = svg.clientWidth || 500, pad = 60, h = 34;
  const x = (v) => pad + ((v - lo) / (hi - lo || 1)) * (W - pad - 20);
  svg.setAttribute("height", rows.length * h + 30);
  let out = "";
  rows.forEach((d, i) => {
    const y = 12 + i * h, c = colours[body.drivers.findIndex((r) => r.driver === d.driver)];
    out += `<text x="4" y="${y + 15}" fill="${c}" font-weight="700">${esc(d.driver)}</text>`;
    out += `<line x1="${x(d.min)}" x2="${x(d.max)}" y1="${y + 11}" y2="${y + 11}" stroke="${c}"/>`;
    out += `<rect class="box" x="${x(d.q1)}" y="${y + 2}" width="${Math.max(2, x(d.q3) - x(d.q1))}" height="18" fill="${c}33" stroke="${c}"/>`;
    out += `<line x1="${x(d.median)}" x2="${x(d.median)}" y1="${y}" y2="${y + 22}" stroke="#fff" stroke-width="2"/>`;
    out += `<text x="${x(d.median) + 4}" y="${y + 32}" fill="#8a93a3" font-size="10">${lapTime(d.median)}</text>`;
  });
  out += `<text x="${pad}" y="${rows.length * h + 26}" fill="#8a93a3" font-size="10">${lapTime(lo)}</text>`;
  out += `<text x="${W - 80}" y="${rows.length * h + 26}" fill="#8a93a3" font-size="10">${lapTime(hi)}</text>`;
  svg.innerHTML = out;
}

function drawSectors(body, colours) {
  const s = body.sectors;
  const head = $("sectors").querySelector("thead"), tb = $("sectors").querySelector("tbody");
  if (!s.available) {
    head.innerHTML = ""; tb.innerHTML = `<tr><td class="muted">${esc(s.note || "no sector times")}</td></tr>`;
    $("sector-meta").textContent = "";
    return;
  }
  $("sector-meta").textContent = `best sectors, delta to ${s.reference} · top speeds km/h`;
  const traps = Object.keys(s.rows[0].speed_traps);
  head.innerHTML = `<tr><th>Driver</th><th class="num">S1</th><th class="num">S2</th><th class="num">S3</th>
    <th class="num">Ideal</th>${traps.map((t) => `<th class="num">${esc(t.toUpperCase())}</th>`).join("")}</tr>`;
  const cell = (v, d) => `<td class="num">${fmt(v)}<br><small style="color:${d > 0 ? "#ff8c69" : d < 0 ? "#2ecc71" : "#8a93a3"}">${d ? (d > 0 ? "+" : "") + d.toFixed(3) : "ref"}</small></td>`;
  tb.innerHTML = s.rows.map((r) => {
    const i = body.drivers.findIndex((d) => d.driver === r.driver);
    return `<tr><td class="drv"><span class="chip" style="background:${colours[i]}"></span>${esc(r.driver)}</td>
      ${r.best.map((v, k) => cell(v, r.delta_best[k])).join("")}<td class="num">${lapTime(r.ideal_lap)}</td>
      ${traps.map((t) => `<td class="num">${fmt(r.speed_traps[t], 0)}</td>`).join("")}</tr>`;
  }).join("");
}

function drawDegradation(body, colours) {
  const list = [], series = [{ label: "tyre age" }];
  for (const st of body.stints) {
    if (!st.tyre_age.length) continue;
    const i = body.drivers.findIndex((d) => d.driver === st.driver);
    const c = colours[i];
    const slope = st.slope === null ? "" : ` ${(st.slope * 1000).toFixed(0)} ms/lap`;
    list.push([st.tyre_age, st.fuel_corrected]);
    series.push({ label: `${st.driver} S${st.stint} ${st.compound[0]}${slope}`, stroke: c,
      width: 0, points: { show: true, size: 5, fill: COMPOUND_COLOUR[st.compound] || c } });
    if (st.fitted.length) {
      list.push([st.tyre_age, st.fitted]);
      series.push({ label: `${st.driver} S${st.stint} fit`, stroke: c, width: 2, points: { show: false } });
    }
  }
  $("deg-chart").innerHTML = "";
  if (list.length) cmp.charts.push(new uPlot(uplotOpts("", panelWidth("deg-chart"), 260, series), align(list), $("deg-chart")));
  else $("deg-chart").innerHTML = `<div class="empty">No stints to fit (a timed session, or too few clean laps).</div>`;
}

function drawPace(body, colours) {
  const race = body.kind === "race";
  const cons = new Map(body.consistency.map((c) => [c.driver, c]));
  const head = $("pace").querySelector("thead"), tb = $("pace").querySelector("tbody");
  head.innerHTML = race
    ? `<tr><th>Driver</th><th class="num">Clean laps</th><th class="num">Median lap</th><th class="num">Fuel-corrected</th>
       <th class="num">Race pace (tyre-corrected)</th><th class="num">Gap</th><th class="num">σ detrended</th><th class="num">Within 0.5 s</th></tr>`
    : `<tr><th>Driver</th><th class="num">Best lap</th><th class="num">Lap</th><th>Tyre</th><th class="num">Gap</th>
       <th class="num">σ detrended</th><th class="num">Within 0.5 s</th></tr>`;
  tb.innerHTML = body.pace.map((p) => {
    const i = body.drivers.findIndex((d) => d.driver === p.driver), c = cons.get(p.driver) || {};
    const chip = `<td class="drv"><span class="chip" style="background:${colours[i]}"></span>${esc(p.driver)}</td>`;
    const tail = `<td class="num">${fmt(c.detrended_std)}</td><td class="num">${c.within_0_5 === undefined ? "–" : (100 * c.within_0_5).toFixed(0) + "%"}</td>`;
    return race
      ? `<tr>${chip}<td class="num">${p.laps}</td><td class="num">${lapTime(p.median_lap)}</td><td class="num">${lapTime(p.fuel_corrected)}</td>
         <td class="num">${lapTime(p.pace)}</td><td class="num">+${fmt(p.gap)}</td>${tail}</tr>`
      : `<tr>${chip}<td class="num">${lapTime(p.lap_time)}</td><td class="num">${esc(p.lap)}</td><td>${esc(p.compound)}</td><td class="num">+${fmt(p.gap)}</td>${tail}</tr>`;
  }).join("");
}

async function load() {
  const session = $("session").value.trim(), drivers = $("drivers").value.trim().toUpperCase();
  setParams({ session, drivers });
  showError("");
  cmp.loading = true;
  try {
    const body = await getJSON(`/api/v1/compare/drivers?session=${encodeURIComponent(session)}&drivers=${encodeURIComponent(drivers)}`);
    cmp.data = body;
    cmp.charts.forEach((c) => c.destroy()); cmp.charts = [];
    const colours = body.drivers.map((d, i) => colourOf(d, i));
    // Team mates share a colour: the second of a team gets a lighter shade.
    const seen = new Set();
    body.drivers.forEach((d, i) => { if (seen.has(colours[i])) colours[i] = FALLBACK[(i + 3) % FALLBACK.length]; seen.add(colours[i]); });
    $("event-name").textContent = `${body.event} · ${body.session_name} · ${body.drivers.map((d) => d.driver).join(" vs ")}`;
    $("lap-meta").textContent = body.kind === "race" ? "clean laps, fuel-corrected (s)" : "clean laps (s)";
    drawLaps(body, colours); drawDistribution(body, colours); drawSectors(body, colours);
    drawDegradation(body, colours); drawPace(body, colours);
  } catch (e) {
    showError(e.message);
  } finally {
    cmp.loading = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const p = params();
  $("session").value = p.get("session") || "2023-monaco-R";
  $("drivers").value = p.get("drivers") || "VER,ALO";
  $("form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
});
