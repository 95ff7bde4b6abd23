/* pitwall dashboard: the live state of one session (a snapshot, then the gateway's updates,
 * through feed.js: reconnects, broadcast delay), drawn at most once per animation frame.
 * Plain JS + uPlot (vendored). Every text from the feed is escaped (dom.js esc) or set as
 * text. window.pitwall is the state, for the browser tests and for curious strategists. */
"use strict";

const TRACK_LABEL = { green: "GREEN", yellow: "YELLOW", sc: "SAFETY CAR", vsc: "VSC",
  vsc_ending: "VSC ENDING", red: "RED FLAG", unknown: "—" };
const RACE_CONTROL_SHOWN = 8;

const state = {
  key: null, info: null, standings: new Map(), track: null, strategy: null, history: [],
  degradation: new Map(), stints: new Map(), selected: new Set(), updates: 0, lastSeq: 0,
  lastMsgAt: 0, prevPos: new Map(), probMode: "win", raceControl: [], weather: null,
  conn: "offline", race,
};
const feed = new Feed(onMessage, setConn);
Object.defineProperty(state, "ws", { get: () => feed.ws });
Object.defineProperty(state, "feed", { get: () => feed });
state.chartStints = () => Object.fromEntries([...race.laps.keys()].map((d) => [d, stintsOf(d)]));
state.planner = planner;
window.pitwall = state;

let dirty = new Set();
let framePending = false;
function markDirty(...parts) {
  for (const p of parts) dirty.add(p);
  if (!framePending) { framePending = true; requestAnimationFrame(render); }
}

/* ---------------------------------------------------------------- sessions */
async function loadSessions() {
  const sel = $("session-select");
  let sessions = [];
  try {
    const r = await window.pitwallAuth.fetch("/sessions");
    if (r.ok) sessions = await r.json();
  } catch (e) { /* API down: the input still works */ }
  const wanted = new URLSearchParams(location.search).get("session");
  const keys = sessions.map((s) => s.session_key);
  if (wanted && !keys.includes(wanted)) keys.unshift(wanted);
  sel.innerHTML = keys.map((k) => {
    const s = sessions.find((x) => x.session_key === k) || { session_key: k };
    const name = s.event_name ? `${s.year} ${s.event_name} · ${s.session_name || ""}` : k;
    return `<option value="${esc(k)}">${s.live ? "● " : ""}${esc(name)}</option>`;
  }).join("");
  const first = wanted || keys[0];
  if (first) { sel.value = first; open(first); }
}

function open(key) {
  Object.assign(state, { key, info: null, track: null, strategy: null, history: [], lastSeq: 0 });
  for (const m of [state.standings, state.degradation, state.stints, state.selected]) m.clear();
  resetRace();
  const url = new URL(location.href);
  url.searchParams.set("session", key);
  history.replaceState(null, "", url);
  for (const a of document.querySelectorAll("#pages-nav a")) a.href = `${a.pathname}?session=${encodeURIComponent(key)}`;
  feed.open(key);
  markDirty("head", "tower", "race", "prob", "deg", "calls", "feed");
}

function setConn(mode, detail) {
  state.conn = mode;
  const el = $("conn-status"), banner = $("banner");
  el.className = "conn " + mode;
  el.querySelector("span").textContent = mode === "reconnecting" ? "reconnecting…" : mode;
  if (mode === "reconnecting" && detail?.wait) {
    banner.hidden = false;
    banner.textContent = `Connection to the live feed lost: reconnecting in ${detail.wait.toFixed(0)} s (attempt ${detail.attempt}). The page shows the last state it had.`;
  } else if (mode === "live" || mode === "connecting") {
    banner.hidden = true;
  }
}

/* ---------------------------------------------------------------- messages */
function onMessage(msg) {
  state.lastMsgAt = Date.now();
  try {
    if (msg.type === "snapshot") return applySnapshot(msg);
    if (msg.type === "batch") { for (const u of msg.updates) onMessage(u); return; }
    if (msg.type !== "update") return;
    state.updates += 1;
    state.lastSeq = msg.seq;
    applyUpdate(msg.kind, msg.data);
  } catch (err) {
    console.error("update not applied", err, msg);
  }
}

function applyUpdate(kind, d) {
  switch (kind) {
    case "standings":
      for (const row of Array.isArray(d) ? d : [d]) mergeRow(row);
      markDirty("tower", "race");
      break;
    case "strategy": applyStrategy(d, true); break;
    case "track_status":
      state.track = d;
      trackChange(d.state, leaderLapNow(d.event_time?.session_time));
      markDirty("head", "race");
      break;
    case "degradation": addDegradation(d); markDirty("deg"); break;
    case "session":
      state.info = Object.assign(state.info || {}, pickDefined(d));
      markDirty("head", "tower", "race");
      break;
    case "race_control":
      state.raceControl.push(d); state.raceControl = state.raceControl.slice(-50);
      markDirty("feed");
      break;
    case "weather": state.weather = d; markDirty("feed"); break;
  }
}

function pickDefined(obj) {
  return Object.fromEntries(Object.entries(obj || {}).filter(([, v]) => v !== null && v !== undefined));
}

function applySnapshot(s) {
  state.snapshots = (state.snapshots || 0) + 1;
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
  loadHistory(new Map((s.standings || []).map((r) => [r.driver, r.lap_number || 0])));
  markDirty("head", "tower", "race", "prob", "deg", "calls", "feed");
}

/* The race so far from the database, kept to the laps the snapshot had. */
async function loadHistory(upto) {
  const key = state.key;
  try {
    const r = await window.pitwallAuth.fetch(`/sessions/${encodeURIComponent(key)}/race-chart`);
    if (!r.ok || key !== state.key) return;
    loadRaceChart(await r.json(), upto);
    // The stored track status may lag the live one: a period the page saw end stays ended.
    if (state.track) trackChange(state.track.state, leaderLapNow(state.track.event_time?.session_time));
    markDirty("race");
  } catch (e) { /* no database: the charts fill from the live laps */ }
}

function mergeRow(row) {
  // The server sends whole rows: a gap that became null (a car lapped) must clear the old one.
  if (!row || !row.driver) return;
  const prev = state.standings.get(row.driver) || {};
  state.standings.set(row.driver, Object.assign(prev, row));
  if (row.source === "lap" && row.lap) addLapPoint(row.driver, { ...row.lap, gap: row.line_gap, laps_down: row.laps_down });
  if (isOut(row) && row.out_lap != null) race.out.set(row.driver, { out_lap: row.out_lap, out_reason: row.out_reason });
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
  markDirty("tower", "prob", "calls", "head", "race");
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
  if (drv?.team_colour && /^#?[0-9a-fA-F]{6}$/.test(drv.team_colour)) return "#" + drv.team_colour.replace("#", "");
  let h = 0;
  for (const c of driver) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}
function recsByDriver() { return new Map((state.strategy?.recommendations || []).map((r) => [r.driver, r])); }
function totalLaps() { return state.strategy?.laps_total || state.info?.total_laps || race.total || 0; }
function currentLap() {
  let lap = state.info?.current_lap || 0;
  for (const r of state.standings.values()) lap = Math.max(lap, r.lap_number || 0);
  return Math.max(lap, state.strategy?.lap || 0);
}
/* The leader's laps at a session time (fractional, from its last crossing and lap time). */
function leaderLapNow(sessionTime) {
  const lead = [...state.standings.values()].sort((a, b) => (b.lap_number || 0) - (a.lap_number || 0))[0];
  if (!lead?.lap_at || sessionTime == null) return currentLap();
  const frac = (sessionTime - lead.lap_at) / (lead.last_lap_time || 90);
  return (lead.lap_number || 0) + Math.min(Math.max(frac, 0), 0.99);
}
function toggleSelected(d) {
  if (state.selected.has(d)) state.selected.delete(d); else state.selected.add(d);
  markDirty("tower", "prob", "deg", "race");
}
function context() {
  return {
    recs: recsByDriver(), lap: currentLap(), total: totalLaps() || 1, track: state.track?.state,
    colour: teamColour, selected: state.selected, prevPos: state.prevPos, toggle: toggleSelected,
  };
}

/* ---------------------------------------------------------------- rendering */
function render() {
  framePending = false;
  const d = dirty;
  dirty = new Set();
  const ctx = context();
  if (d.has("head") || d.has("tower")) renderHead();
  if (d.has("tower")) renderTowerInto($("tower"), $("tower-empty"), towerRows(state.standings), ctx);
  if (d.has("tower") || d.has("calls")) plannerOptions(towerRows(state.standings).map((r) => r.driver), ctx.recs);
  if (d.has("feed")) renderFeed();
  if (d.has("calls")) renderCalls();
  if (d.has("race")) {
    const order = towerRows(state.standings);
    renderStrategyChart($("strategy-chart"), order, ctx);
    renderTrace($("trace-chart"), $("trace-legend"), order, ctx);
  }
  if (d.has("prob")) renderProb($("prob-chart"), $("prob-legend"), state, ctx);
  if (d.has("deg")) renderDeg($("deg-chart"), $("deg-legend"), state, ctx);
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
  el.className = "track " + (TRACK_LABEL[ts] ? ts : "unknown");
  el.textContent = TRACK_LABEL[ts] || String(ts).toUpperCase();
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
  const list = $("race-control");
  const msgs = state.raceControl.slice(-RACE_CONTROL_SHOWN).reverse();
  list.replaceChildren(...msgs.map((m) => {
    const li = document.createElement("li");
    if (m.flag) li.className = "flag-" + String(m.flag).toLowerCase().replace(/[^a-z]/g, "");
    const lap = document.createElement("b");
    lap.textContent = m.lap ? `L${m.lap}` : "";
    li.append(lap, " ", String(m.message ?? ""));
    return li;
  }));
  if (!msgs.length) list.innerHTML = `<li class="muted">No race-control message yet.</li>`;
}

const MAX_MOVE_CALLS = 3; // undercut and attack calls shown per update

function renderCalls() {
  const s = state.strategy;
  if (!s) return;
  $("strategy-meta").textContent = `lap ${s.lap} · ${s.n_sims || "?"} sims` +
    (s.compute_ms ? ` · ${Number(s.compute_ms).toFixed(1)} ms` : "");
  const items = [], moves = [];
  for (const r of s.recommendations || []) {
    const d = `<b>${esc(r.driver)}</b>`, c = esc(r.recommended_compound || "—");
    if (r.pit_under_sc) items.push([0, `<span class="tag sc">SC</span>${d} pit under the safety car → ${c}`]);
    else if (r.pit_now) items.push([1, `<span class="tag box">BOX</span>${d} P${esc(r.position)} box this lap for ${c}`]);
    if (r.undercut_threat >= 0.4) moves.push([2, `<span class="tag threat">UNDERCUT</span>${d} threatened from behind (${pct(r.undercut_threat)})`, r.undercut_threat]);
    if (r.undercut_opportunity >= 0.5) moves.push([3, `<span class="tag opp">ATTACK</span>${d} undercut chance on the car ahead (${pct(r.undercut_opportunity)})`, r.undercut_opportunity]);
  }
  // When the whole field's windows open together, every pair has an undercut: show the
  // strongest few, not a wall of them.
  moves.sort((a, b) => b[2] - a[2]);
  items.push(...moves.slice(0, MAX_MOVE_CALLS));
  items.sort((a, b) => a[0] - b[0]);
  $("calls").innerHTML = items.length ? items.slice(0, 12).map((x) => `<li>${x[1]}</li>`).join("")
    : `<li class="muted">Lap ${esc(s.lap)}: no call — every car inside its plan.</li>`;
}

/* ---------------------------------------------------------------- wiring */
function wire() {
  $("session-select").addEventListener("change", (e) => open(e.target.value));
  $("session-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.value.trim()) open(e.target.value.trim());
  });
  for (const id of ["tower", "strategy-chart"]) {
    $(id).addEventListener("click", (e) => {
      const row = e.target.closest("[data-driver]");
      if (row) toggleSelected(row.dataset.driver);
    });
  }
  $("prob-toggle").addEventListener("click", (e) => {
    const mode = e.target.dataset.mode;
    if (!mode) return;
    state.probMode = mode;
    for (const b of $("prob-toggle").children) b.classList.toggle("on", b.dataset.mode === mode);
    markDirty("prob");
  });
  $("trace-filter").addEventListener("change", (e) => { race.filter = e.target.value; markDirty("race"); });
  const delay = $("delay");
  delay.value = feed.delay;
  delay.addEventListener("change", () => { feed.setDelay(delay.value); delay.value = feed.delay; showDelay(); });
  showDelay();
  window.addEventListener("resize", () => { resizeCharts(); markDirty("race"); });
  setInterval(() => {
    if (state.conn === "live" || state.conn === "stale") {
      setConn(Date.now() - state.lastMsgAt > 15000 + feed.delay * 1000 ? "stale" : "live");
      feed.send({ type: "ping" });
    }
    showDelay();
  }, 5000);
  wirePlanner();
}

function showDelay() {
  $("delay-meta").textContent = feed.delay ? `${feed.held} held back` : "";
}

wire();
loadSessions();
