/* pitwall dashboard: one WebSocket per session (snapshot, then live updates), drawn at most
 * once per animation frame. Plain JS + uPlot (vendored in /static/vendor). */
"use strict";

const COMPOUND = {
  SOFT: ["s", "S", "#ff3b3b"], MEDIUM: ["m", "M", "#ffd12e"], HARD: ["h", "H", "#f2f2f2"],
  INTERMEDIATE: ["i", "I", "#3ec45a"], WET: ["w", "W", "#2f8cff"],
};
const PALETTE = ["#e10600", "#00d2be", "#ff8700", "#0090ff", "#9b59b6", "#f1c40f", "#2ecc71",
  "#e84393", "#7f8c8d", "#d35400"];
const TRACK_LABEL = { green: "GREEN", yellow: "YELLOW", sc: "SAFETY CAR", vsc: "VSC",
  vsc_ending: "VSC ENDING", red: "RED FLAG", unknown: "—" };

const state = {
  key: null, ws: null, info: null, standings: new Map(), track: null, strategy: null,
  history: [], degradation: new Map(), stints: new Map(), selected: new Set(),
  updates: 0, lastSeq: 0, lastMsgAt: 0, prevPos: new Map(), probMode: "win",
  raceControl: [], weather: null,
};
const RACE_CONTROL_SHOWN = 8;
window.pitwall = state; // for the browser test and for curious strategists

const $ = (id) => document.getElementById(id);
let dirty = { tower: false, prob: false, deg: false, head: false, calls: false, feed: false };
let framePending = false;

function markDirty(...parts) {
  for (const p of parts) dirty[p] = true;
  if (!framePending) {
    framePending = true;
    requestAnimationFrame(render);
  }
}

/* ---------------------------------------------------------------- sessions & socket */
async function loadSessions() {
  const sel = $("session-select");
  let sessions = [];
  try {
    const r = await fetch("/sessions");
    if (r.ok) sessions = await r.json();
  } catch (e) { /* API down: the input still works */ }
  const wanted = new URLSearchParams(location.search).get("session");
  sel.innerHTML = "";
  const keys = sessions.map((s) => s.session_key);
  if (wanted && !keys.includes(wanted)) keys.unshift(wanted);
  for (const k of keys) {
    const s = sessions.find((x) => x.session_key === k) || { session_key: k };
    const o = document.createElement("option");
    o.value = k;
    o.textContent = `${s.live ? "● " : ""}${s.event_name ? `${s.year} ${s.event_name} · ${s.session_name || ""}` : k}`;
    sel.appendChild(o);
  }
  const first = wanted || keys[0];
  if (first) { sel.value = first; connect(first); }
}

function connect(key) {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  Object.assign(state, { key, info: null, track: null, strategy: null, history: [], lastSeq: 0 });
  state.standings.clear(); state.degradation.clear(); state.stints.clear(); state.selected.clear();
  const url = new URL(location.href);
  url.searchParams.set("session", key);
  history.replaceState(null, "", url);
  for (const a of document.querySelectorAll("#pages-nav a")) {
    a.href = `${a.pathname}?session=${encodeURIComponent(key)}`;
  }
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws/sessions/${encodeURIComponent(key)}`);
  state.ws = ws;
  setConn("connecting");
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onopen = () => setConn("live");
  ws.onclose = () => { setConn("offline"); setTimeout(() => state.key === key && connect(key), 2000); };
}

function setConn(mode) {
  const el = $("conn-status");
  el.className = "conn " + (mode === "live" ? "live" : mode === "stale" ? "stale" : "");
  el.querySelector("span").textContent = mode;
}

/* ---------------------------------------------------------------- messages */
function onMessage(msg) {
  state.lastMsgAt = Date.now();
  if (msg.type === "snapshot") return applySnapshot(msg);
  if (msg.type === "batch") { for (const u of msg.updates) onMessage(u); return; }
  if (msg.type === "heartbeat" || msg.type === "pong") return;
  if (msg.type !== "update") return;
  state.updates += 1;
  state.lastSeq = msg.seq;
  const d = msg.data;
  switch (msg.kind) {
    case "standings":
      for (const row of Array.isArray(d) ? d : [d]) mergeRow(row);
      markDirty("tower");
      break;
    case "strategy":
      applyStrategy(d, true);
      break;
    case "track_status":
      state.track = d; markDirty("head");
      break;
    case "degradation":
      addDegradation(d); markDirty("deg");
      break;
    case "session":
      state.info = Object.assign(state.info || {}, pickDefined(d)); markDirty("head", "tower");
      break;
    case "race_control":
      state.raceControl.push(d); state.raceControl = state.raceControl.slice(-50);
      markDirty("feed");
      break;
    case "weather":
      state.weather = d; markDirty("feed");
      break;
  }
}

function pickDefined(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

function applySnapshot(s) {
  state.info = s.info;
  state.track = s.track_status;
  state.lastSeq = s.seq;
  state.standings.clear();
  for (const row of s.standings || []) mergeRow(row);
  state.history = (s.strategy_history || []).slice();
  state.strategy = null;
  if (s.strategy) applyStrategy(s.strategy, false);
  for (const d of Object.values(s.degradation || {})) addDegradation(d);
  state.raceControl = (s.race_control || []).slice();
  state.weather = s.weather || null;
  markDirty("head", "tower", "prob", "deg", "calls", "feed");
}

function mergeRow(row) {
  // The server sends whole rows: a gap that became null (a car lapped) must clear the old one.
  if (!row || !row.driver) return;
  const prev = state.standings.get(row.driver) || {};
  state.standings.set(row.driver, Object.assign(prev, row));
}

/* The tower's order and gaps (as strategy/standings.py's tower()): running cars by timing
   position, those out of the race at the bottom (the latest out first); a gap never below
   the car ahead's (cars' updates arrive at different moments); lapped cars' gaps in laps. */
function towerRows() {
  const isOut = (r) => Boolean(r.retired) || r.status === "retired" || r.status === "stopped";
  const running = [...state.standings.values()].filter((r) => !isOut(r))
    .sort((a, b) => ((a.position || 999) - (b.position || 999)) || a.driver.localeCompare(b.driver));
  const out = [...state.standings.values()].filter(isOut)
    .sort((a, b) => ((b.out_lap || 0) - (a.out_lap || 0)) || a.driver.localeCompare(b.driver));
  let floor = 0;
  const shown = running.map((r) => {
    let gap = r.gap_to_leader;
    if (gap != null && !r.laps_down) { gap = Math.max(gap, floor); floor = gap; }
    return { ...r, shownGap: gap, out: false };
  });
  return shown.concat(out.map((r) => ({ ...r, out: true })));
}

function gapText(r) {
  if (r.out) return r.out_lap ? `L${r.out_lap}` : "";
  if (r.laps_down) return r.gap_text || `+${r.laps_down} LAP${r.laps_down > 1 ? "S" : ""}`;
  return fmtGap(r.shownGap, null);
}

function rejoinText(rec) {
  if (!rec?.rejoin?.length) return "";
  const status = state.track?.state;
  const want = status === "sc" || status === "red" ? "sc" : status && status.startsWith("vsc") ? "vsc" : "green";
  const j = rec.rejoin.find((x) => x.status === want) || rec.rejoin[0];
  const side = (name, gap, sign) => (name ? `${name} ${sign}${Number(gap).toFixed(1)}` : "");
  const around = [side(j.ahead, j.gap_ahead, "+"), side(j.behind, j.gap_behind, "−")].filter(Boolean).join(" · ");
  return `<span class="rejoin-pos">P${j.position}</span> <small title="after a ${j.pit_loss.toFixed(1)} s stop (${j.status})">${around}</small>`;
}

function applyStrategy(ev, live) {
  state.strategy = ev;
  if (live) {
    const win = {}, podium = {};
    for (const r of ev.recommendations || []) { win[r.driver] = r.win_prob; podium[r.driver] = r.podium_prob; }
    const last = state.history[state.history.length - 1];
    const point = { lap: ev.lap, win, podium };
    if (last && last.lap === ev.lap) state.history[state.history.length - 1] = point;
    else state.history.push(point);
  }
  if (state.selected.size === 0) {
    for (const r of (ev.recommendations || []).slice(0, 4)) state.selected.add(r.driver);
  }
  markDirty("tower", "prob", "calls", "head", "deg");
}

function addDegradation(d) {
  if (!d || !d.driver) return;
  state.degradation.set(d.driver, d);
  const per = state.stints.get(d.driver) || new Map();
  per.set(d.stint ?? 0, d);
  state.stints.set(d.driver, per);
}

/* ---------------------------------------------------------------- helpers */
function teamColour(driver) {
  const drv = (state.info?.drivers || []).find((x) => x.driver === driver);
  if (drv?.team_colour) return "#" + drv.team_colour.replace("#", "");
  let h = 0;
  for (const c of driver) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}
const fmtGap = (v, text) => (text && isNaN(Number(text)) ? text : v == null ? "" : v === 0 ? "LEADER" : "+" + Number(v).toFixed(3));
const pct = (p) => (p == null ? "" : (p * 100).toFixed(p >= 0.1 ? 0 : 1) + "%");
function tyreBadge(compound) {
  const c = COMPOUND[(compound || "").toUpperCase()];
  return c ? `<span class="tyre ${c[0]}" title="${compound}">${c[1]}</span>` : `<span class="tyre">?</span>`;
}
function recsByDriver() {
  const m = new Map();
  for (const r of state.strategy?.recommendations || []) m.set(r.driver, r);
  return m;
}
function totalLaps() {
  return state.strategy?.laps_total || state.info?.total_laps || 0;
}
function currentLap() {
  let lap = state.info?.current_lap || 0;
  for (const r of state.standings.values()) lap = Math.max(lap, r.lap_number || 0);
  return Math.max(lap, state.strategy?.lap || 0);
}

/* ---------------------------------------------------------------- rendering */
function render() {
  framePending = false;
  const d = dirty;
  dirty = { tower: false, prob: false, deg: false, head: false, calls: false };
  if (d.head) renderHead();
  if (d.tower) renderTower();
  if (d.feed) renderFeed();
  if (d.calls) renderCalls();
  if (d.prob) renderProb();
  if (d.deg) renderDeg();
}

function renderHead() {
  const i = state.info || {};
  $("event-name").textContent = i.event_name
    ? `${i.year || ""} ${i.event_name} · ${i.session_name || ""}${i.circuit ? " · " + i.circuit : ""}`
    : state.key || "—";
  const total = totalLaps();
  $("lap-counter").innerHTML = `LAP <b>${currentLap() || "–"}</b>${total ? " / " + total : ""}`;
  const ts = state.track?.state || state.strategy?.track_status || "green";
  const el = $("track-status");
  el.className = "track " + ts;
  el.textContent = TRACK_LABEL[ts] || ts.toUpperCase();
}

function renderTower() {
  renderHead();
  const body = $("tower").querySelector("tbody");
  const rows = towerRows();
  $("tower-empty").style.display = rows.length ? "none" : "block";
  const recs = recsByDriver();
  const total = totalLaps() || 1;
  const lap = currentLap();
  $("window-scale").textContent = total > 1 ? `lap 1 → ${total}` : "";
  const html = [];
  for (const r of rows) {
    const rec = r.out ? null : recs.get(r.driver);
    const prev = state.prevPos.get(r.driver);
    const moved = prev && r.position && prev !== r.position ? (r.position < prev ? "up" : "down") : "";
    state.prevPos.set(r.driver, r.position);
    const cls = [moved, rec?.pit_now ? "box" : "", r.out ? "retired" : "",
      state.selected.has(r.driver) ? "selected" : ""].join(" ");
    const age = r.tyre_age ?? rec?.tyre_age;
    const win = rec?.pit_window;
    let strip = `<div class="strip"><div class="done" style="width:${(100 * lap) / total}%"></div>`;
    if (win) {
      const left = (100 * (win.open_lap - 1)) / total;
      const width = Math.max((100 * (win.close_lap - win.open_lap + 1)) / total, 1);
      strip += `<div class="win" style="left:${left}%;width:${width}%" title="window L${win.open_lap}-${win.close_lap}, best L${win.best_lap}"></div>`;
      strip += `<div class="best" style="left:${(100 * (win.best_lap - 0.5)) / total}%"></div>`;
      strip += `<span class="label">L${win.open_lap}–${win.close_lap}</span>`;
    } else if (rec) {
      strip += `<span class="label">no stop</span>`;
    }
    strip += `<div class="now" style="left:${(100 * lap) / total}%"></div></div>`;
    let next = "";
    if (rec?.pit_now) next = `<span class="pitnow">BOX</span> ${tyreBadge(rec.recommended_compound)}`;
    else if (rec?.recommended_compound) next = tyreBadge(rec.recommended_compound);
    else if (rec) next = `<span class="stayout">stay out</span>`;
    html.push(`<tr data-driver="${r.driver}" class="${cls}">
      <td class="pos">${r.out ? "OUT" : r.position ?? ""}</td>
      <td class="drv" title="${r.out ? (r.out_reason || r.status || "out") : ""}"><i style="background:${teamColour(r.driver)}"></i>${r.driver}</td>
      <td class="num">${gapText(r)}</td>
      <td class="num">${r.out || r.interval == null ? "" : "+" + Number(r.interval).toFixed(3)}</td>
      <td>${tyreBadge(r.compound || rec?.compound)}<span class="age ${age > 25 ? "old" : ""}">${age ?? ""}</span></td>
      <td class="num">${r.stops ?? rec?.stops ?? 0}</td>
      <td class="pitwin">${strip}</td>
      <td class="next">${next}</td>
      <td class="rejoin" data-testid="rejoin">${r.out ? "" : rejoinText(rec)}</td>
      <td class="num"><span class="prob">${pct(rec?.win_prob)}</span><span class="bar" style="width:${Math.round(40 * (rec?.win_prob || 0))}px"></span></td>
      <td class="num"><span class="prob">${pct(rec?.podium_prob)}</span><span class="bar pod" style="width:${Math.round(40 * (rec?.podium_prob || 0))}px"></span></td>
    </tr>`);
  }
  body.innerHTML = html.join("");
}

function renderFeed() {
  const w = state.weather;
  $("weather").innerHTML = w
    ? [w.rainfall ? `<span class="rain">RAIN</span>` : `<span>dry</span>`,
       w.track_temp != null ? `track ${Number(w.track_temp).toFixed(1)}°C` : "",
       w.air_temp != null ? `air ${Number(w.air_temp).toFixed(1)}°C` : "",
       w.humidity != null ? `${Math.round(w.humidity)}% humidity` : "",
       w.wind_speed != null ? `wind ${Number(w.wind_speed).toFixed(1)} m/s` : ""].filter(Boolean).join(" · ")
    : `<span class="muted">no weather data</span>`;
  const msgs = state.raceControl.slice(-RACE_CONTROL_SHOWN).reverse();
  $("race-control").innerHTML = msgs.length
    ? msgs.map((m) => `<li${m.flag ? ` class="flag-${String(m.flag).toLowerCase().replace(/[^a-z]/g, "")}"` : ""}><b>${m.lap ? "L" + m.lap : ""}</b> ${m.message}</li>`).join("")
    : `<li class="muted">No race-control message yet.</li>`;
}

function renderCalls() {
  const s = state.strategy;
  const ul = $("calls");
  if (!s) return;
  $("strategy-meta").textContent = `lap ${s.lap} · ${s.n_sims || "?"} sims` +
    (s.compute_ms ? ` · ${Number(s.compute_ms).toFixed(1)} ms` : "");
  const items = [];
  for (const r of s.recommendations || []) {
    if (r.pit_under_sc) items.push([0, `<span class="tag sc">SC</span><b>${r.driver}</b> pit under the safety car → ${r.recommended_compound || ""}`]);
    else if (r.pit_now) items.push([1, `<span class="tag box">BOX</span><b>${r.driver}</b> P${r.position} box this lap for ${r.recommended_compound || "—"}`]);
    if (r.undercut_threat >= 0.4) items.push([2, `<span class="tag threat">UNDERCUT</span><b>${r.driver}</b> threatened from behind (${pct(r.undercut_threat)})`]);
    if (r.undercut_opportunity >= 0.5) items.push([3, `<span class="tag opp">ATTACK</span><b>${r.driver}</b> undercut chance on the car ahead (${pct(r.undercut_opportunity)})`]);
  }
  items.sort((a, b) => a[0] - b[0]);
  ul.innerHTML = items.length ? items.slice(0, 12).map((x) => `<li>${x[1]}</li>`).join("")
    : `<li class="muted">Lap ${s.lap}: no call — every car inside its plan.</li>`;
}

/* ---------------------------------------------------------------- charts */
let probPlot = null, probKey = "", degPlot = null, degKey = "";

function chartSize(el) { return { width: Math.max(el.clientWidth - 4, 300), height: 250 }; }

function renderProb() {
  const el = $("prob-chart");
  const mode = state.probMode;
  const hist = state.history;
  const drivers = topDrivers(mode);
  const key = mode + drivers.join(",");
  const laps = hist.map((h) => h.lap);
  const data = [laps, ...drivers.map((d) => hist.map((h) => (h[mode]?.[d] ?? null) * 100))];
  if (!probPlot || key !== probKey) {
    if (probPlot) probPlot.destroy();
    probKey = key;
    probPlot = new uPlot({
      ...chartSize(el),
      scales: { x: { time: false }, y: { range: [0, 100] } },
      axes: axes("lap", "%"),
      series: [{ label: "lap" }, ...drivers.map((d) => ({
        label: d, stroke: teamColour(d), width: state.selected.has(d) ? 2.5 : 1.5, points: { show: false },
        value: (u, v) => (v == null ? "" : v.toFixed(1) + "%"),
      }))],
      legend: { live: true },
    }, data, el);
  } else {
    probPlot.setData(data);
  }
}

function topDrivers(mode) {
  const last = state.history[state.history.length - 1];
  const ranked = last ? Object.entries(last[mode] || {}).sort((a, b) => b[1] - a[1]).map((x) => x[0]) : [];
  const out = [...new Set([...state.selected, ...ranked.slice(0, mode === "win" ? 5 : 6)])];
  return out.slice(0, 8).sort();
}

function renderDeg() {
  const el = $("deg-chart");
  const drivers = [...state.selected].filter((d) => state.stints.has(d)).sort();
  if (!drivers.length) for (const d of [...state.stints.keys()].slice(0, 4)) drivers.push(d);
  const curves = [];
  let maxAge = 10;
  for (const d of drivers) {
    for (const [stint, ev] of state.stints.get(d) || []) {
      if (ev.intercept == null) continue;
      const age = Math.round(ev.tyre_life || 0);
      maxAge = Math.max(maxAge, age + (ev.predicted_laps?.length || 0));
      curves.push({ d, stint, ev, age });
    }
  }
  const xs = Array.from({ length: maxAge + 1 }, (_, i) => i);
  const series = [{ label: "tyre age" }];
  const data = [xs];
  for (const c of curves) {
    const col = COMPOUND[(c.ev.compound || "").toUpperCase()]?.[2] || "#999";
    const fitted = xs.map((x) => (x <= c.age ? c.ev.intercept + c.ev.slope * x : null));
    const ahead = xs.map((x) => (x >= c.age && x <= c.age + (c.ev.predicted_laps?.length || 0)
      ? c.ev.intercept + c.ev.slope * x : null));
    const name = `${c.d} S${c.stint} ${c.ev.compound || ""}`;
    series.push({ label: `${name} ${(c.ev.slope * 1000).toFixed(0)} ms/lap`, stroke: teamColour(c.d), width: 2,
      points: { show: false },
      value: (u, v) => (v == null ? "" : v.toFixed(2)) });
    series.push({ label: "↳ next laps", stroke: col, width: 1.5, dash: [6, 4], points: { show: false },
      value: (u, v) => (v == null ? "" : v.toFixed(2)) });
    data.push(fitted, ahead);
  }
  const key = curves.map((c) => `${c.d}${c.stint}`).join("|");
  if (!degPlot || key !== degKey) {
    if (degPlot) degPlot.destroy();
    degKey = key;
    degPlot = new uPlot({
      ...chartSize(el), scales: { x: { time: false } }, axes: axes("tyre age (laps)", "s"),
      series, legend: { live: false },
    }, data, el);
  } else {
    degPlot.setData(data);
  }
}

function axes(xLabel, yUnit) {
  const grid = { stroke: "#232a35", width: 1 };
  const ticks = { stroke: "#232a35" };
  return [
    { stroke: "#8a93a3", grid, ticks, label: xLabel, labelSize: 18 },
    { stroke: "#8a93a3", grid, ticks, values: (u, v) => v.map((x) => x + (yUnit === "%" ? "%" : "")) },
  ];
}

/* ---------------------------------------------------------------- wiring */
$("session-select").addEventListener("change", (e) => connect(e.target.value));
$("session-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.target.value.trim()) connect(e.target.value.trim());
});
$("tower").addEventListener("click", (e) => {
  const tr = e.target.closest("tr[data-driver]");
  if (!tr) return;
  const d = tr.dataset.driver;
  if (state.selected.has(d)) state.selected.delete(d); else state.selected.add(d);
  markDirty("tower", "prob", "deg");
});
$("prob-toggle").addEventListener("click", (e) => {
  const mode = e.target.dataset.mode;
  if (!mode) return;
  state.probMode = mode;
  for (const b of $("prob-toggle").children) b.classList.toggle("on", b.dataset.mode === mode);
  markDirty("prob");
});
window.addEventListener("resize", () => {
  for (const [p, id] of [[probPlot, "prob-chart"], [degPlot, "deg-chart"]]) if (p) p.setSize(chartSize($(id)));
});
setInterval(() => {
  if (state.ws?.readyState === 1) {
    setConn(Date.now() - state.lastMsgAt > 15000 ? "stale" : "live");
    state.ws.send(JSON.stringify({ type: "ping" }));
  }
}, 5000);
loadSessions();
