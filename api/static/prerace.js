/* pitwall pre-race pages: one script, the page is chosen by <body data-page>. Plain JS + uPlot,
 * with common.js (nav, getJSON, $). Every page reads the REST API under /api/v1 and shows its
 * error message when a call fails. */
"use strict";

const COLOURS = ["#e10600", "#00d2be", "#ff8700", "#0090ff", "#9b59b6", "#f1c40f", "#2ecc71",
  "#e84393", "#7f8c8d", "#d35400"];
const query = new URLSearchParams(location.search);
const view = { data: {} };
window.prerace = view; // for the browser test

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const pct = (v, d = 1) => (v == null ? "–" : `${Number(v).toFixed(d)}%`);
const num = (v, d = 4) => (v == null ? "–" : Number(v).toFixed(d));

function fail(el, err) {
  el.innerHTML = `<div class="error" data-testid="error">${esc(err.message || err)}</div>`;
}

function seasonControl(onChange, value) {
  const input = $("season");
  if (value) input.value = value;
  input.addEventListener("change", () => {
    const q = new URLSearchParams(location.search);
    q.set("season", input.value);
    history.replaceState(null, "", `?${q}`);
    onChange();
  });
}

function axes(xLabel, yLabel) {
  const grid = { stroke: "#232a35", width: 1 };
  const ticks = { stroke: "#232a35" };
  return [
    { stroke: "#8a93a3", grid, ticks, label: xLabel, labelSize: 18 },
    { stroke: "#8a93a3", grid, ticks, label: yLabel, labelSize: 18, size: 60 },
  ];
}

function plotSize(el, height = 300) {
  return { width: Math.max(320, el.clientWidth - 4), height };
}

/* ------------------------------------------------------------ next race */
const BASE_NAMES = { grid_slot: "grid slot", championship: "championship order", climatology: "climatology" };
const baseName = (b) => BASE_NAMES[b] || String(b || "baseline").replace("_", " ");

/* A bar of the model's chance with a tick at the baseline's, and both values. */
function chanceBar(kind, model, base) {
  const tick = base == null ? "" : `<div class="tick" style="left:${Math.min(100, base)}%"></div>`;
  const diff = base == null ? "" : ` <span class="${model >= base ? "up" : "down"}">${model >= base ? "+" : ""}${(model - base).toFixed(1)}</span>`;
  return `<div class="chance-cell"><div class="track-bar thin"><div class="fill ${kind}" style="width:${model}%"></div>${tick}</div>`
    + `<div class="vals"><b>${pct(model)}</b>${base == null ? "" : ` <span class="base">vs ${pct(base)}</span>`}${diff}</div></div>`;
}

/* While the history is being loaded (make demo ingests it in the background), say so and
 * look again every 10 s. */
function retryWhileLoading(err, el, again) {
  const msg = String(err.message || err);
  if (!/being loaded/.test(msg)) return false;
  el.innerHTML = `<div class="empty loading" data-testid="loading">${esc(msg)}. Checking again every 10 s…</div>`;
  view.loading = msg;
  setTimeout(again, 10_000);
  return true;
}

async function nextRace() {
  const race = query.get("race");
  const main = $("chances");
  try {
    const doc = await getJSON(race ? `/api/v1/predictions/race/${encodeURIComponent(race)}` : "/api/v1/predictions/next-race");
    view.data = doc;
    view.loading = null;
    const moments = doc.moments.map((m) => m.moment);
    let moment = moments[moments.length - 1];
    $("race-title").textContent = `${doc.season} ${doc.race_name}`;
    $("race-sub").innerHTML = `Round ${doc.round} · ${esc(doc.race_date || "")} · ${esc(doc.circuit || "")} · `
      + `<span class="badge ${doc.status === "completed" ? "done" : "next"}">${doc.status}</span>`;
    $("notice").innerHTML = doc.notice ? `<div class="notice" data-testid="notice">${esc(doc.notice)}</div>` : "";
    const done = doc.status === "completed";
    const toggle = $("moment-toggle");
    toggle.innerHTML = moments.map((m) => `<button data-m="${m}">${m === "pre" ? "Before qualifying" : "After qualifying"}</button>`).join("");
    const draw = () => {
      const m = doc.moments.find((x) => x.moment === moment);
      view.moment = moment;
      for (const b of toggle.querySelectorAll("button")) b.classList.toggle("on", b.dataset.m === moment);
      const base = baseName(m.baseline);
      $("model-meta").textContent = `${m.model_version} · ${m.kind} · ${new Date(m.generated_at).toLocaleString()}`
        + ` · tick and "vs": the ${base} baseline the model starts from`;
      const rows = m.predictions.map((p, i) => `
        <div class="chance${done ? " done" : ""}" data-driver="${esc(p.code || p.driver_id)}">
          <span class="muted">${i + 1}</span><span class="name">${esc(p.driver_name)}</span>
          <span class="team">${esc(p.team || "")}</span><span class="muted">${p.grid ?? "–"}</span>
          ${chanceBar("win", p.win_probability, p.baseline_win_probability)}
          ${chanceBar("podium", p.podium_probability, p.baseline_podium_probability)}
          ${done ? `<span class="result ${p.finish_position === 1 ? "won" : p.finish_position <= 3 ? "podium" : ""}">${p.finish_position ? `P${p.finish_position}` : "DNF"}</span>` : ""}
        </div>`).join("");
      main.innerHTML = `<div class="chance head${done ? " done" : ""}"><span>#</span><span>Driver</span><span>Team</span><span>Grid</span>`
        + `<span>Win (model vs ${esc(base)})</span><span>Podium (model vs ${esc(base)})</span>${done ? "<span>Result</span>" : ""}</div>${rows}`;
      const withGrid = m.predictions.filter((p) => p.grid != null).sort((a, b) => a.grid - b.grid);
      $("grid").innerHTML = withGrid.length
        ? withGrid.map((p) => `<div class="slot"><b>P${p.grid}</b>${esc(p.code || p.driver_name)} <span class="muted">${esc(p.team || "")}</span></div>`).join("")
        : `<div class="muted">The grid is not known yet: chances are from before qualifying.</div>`;
    };
    toggle.addEventListener("click", (e) => { if (e.target.dataset.m) { moment = e.target.dataset.m; draw(); } });
    draw();
    view.ready = true;
  } catch (err) {
    if (retryWhileLoading(err, main, nextRace)) return;
    fail(main, err);
    view.error = String(err.message || err);
  }
}

/* ------------------------------------------------------------ calendar */
async function calendar() {
  const load = async () => {
    const el = $("calendar");
    try {
      const season = $("season").value;
      const doc = await getJSON(`/api/v1/races/calendar${season ? `?season=${encodeURIComponent(season)}` : ""}`);
      view.data = doc;
      $("season").value = doc.season;
      const firstOpen = doc.races.find((r) => r.status === "scheduled");
      el.innerHTML = `<table><thead><tr><th>Rd</th><th>Date</th><th>Grand Prix</th><th>Circuit</th><th></th>
        <th>Winner</th><th>Favourite</th><th class="num">Win</th></tr></thead><tbody>${doc.races.map((r) => `
        <tr data-race="${r.race_id}"><td>${r.round}</td><td>${esc(r.date || "")}</td>
        <td><a href="/next-race?race=${r.race_id}">${esc(r.race_name)}</a></td>
        <td class="muted">${esc(r.circuit || "")}, ${esc(r.country || "")}</td>
        <td>${r.sprint_weekend ? '<span class="badge sprint">SPRINT</span> ' : ""}${r === firstOpen ? '<span class="badge next">NEXT</span>' : r.status === "completed" ? '<span class="badge done">RUN</span>' : ""}</td>
        <td>${esc(r.winner || "")}</td><td>${r.prediction ? esc(r.prediction.favourite) : '<span class="muted">–</span>'}</td>
        <td class="num">${r.prediction ? pct(r.prediction.win_probability) : ""}</td></tr>`).join("")}</tbody></table>`;
      view.ready = true;
    } catch (err) { fail(el, err); }
  };
  seasonControl(load, query.get("season"));
  await load();
}

/* ------------------------------------------------------------ accuracy */
let accPlot = null;
async function accuracy() {
  let moment = query.get("moment") || "post";
  const load = async () => {
    const el = $("acc-table");
    try {
      const season = $("season").value;
      const q = new URLSearchParams({ moment });
      if (season) q.set("season", season);
      const doc = await getJSON(`/api/v1/analytics/accuracy?${q}`);
      view.data = doc;
      $("season").value = doc.season;
      for (const b of $("acc-toggle").querySelectorAll("button")) b.classList.toggle("on", b.dataset.m === moment);
      const iv = doc.intervals || {};
      const biv = doc.baseline_intervals || {};
      const ci = (ivs, k, f) => (ivs[k] ? `95% CI ${f(ivs[k].lo)} – ${f(ivs[k].hi)}` : "");
      const cmp = (a, b) => (a == null || b == null ? "" : a < b ? "better" : "worse");
      const more = (a, b) => (a == null || b == null ? "" : a > b ? "better" : a < b ? "worse" : "");
      const base = baseName(doc.baseline);
      $("cards").innerHTML = `
        <div class="card"><div class="k">Races</div><div class="v">${doc.races_completed}</div><div class="ci">baseline: ${esc(base)}</div></div>
        <div class="card"><div class="k">Winner picked: model · ${esc(base)}</div><div class="v"><span class="${more(doc.correct_winner_percentage, doc.baseline_correct_winner_percentage)}">${pct(doc.correct_winner_percentage)}</span> <span class="muted small">· ${pct(doc.baseline_correct_winner_percentage)}</span></div><div class="ci">${ci(iv, "top1", (v) => pct(100 * v, 0))}</div></div>
        <div class="card"><div class="k">Win Brier: model · ${esc(base)}</div><div class="v"><span class="${cmp(doc.average_brier_score, doc.baseline_average_brier_score)}">${num(doc.average_brier_score)}</span> <span class="muted small">· ${num(doc.baseline_average_brier_score)}</span></div><div class="ci">${ci(iv, "win_brier", (v) => num(v))} · ${esc(base)} ${ci(biv, "win_brier", (v) => num(v))}</div></div>
        <div class="card"><div class="k">Win log-loss: model · ${esc(base)}</div><div class="v"><span class="${cmp(doc.average_log_loss, doc.baseline_average_log_loss)}">${num(doc.average_log_loss, 3)}</span> <span class="muted small">· ${num(doc.baseline_average_log_loss, 3)}</span></div><div class="ci">${ci(iv, "win_log_loss", (v) => num(v, 3))}</div></div>
        <div class="card"><div class="k">Podium top-3: model · ${esc(base)}</div><div class="v"><span class="${more(doc.top_3_accuracy, doc.baseline_top_3_accuracy)}">${pct(doc.top_3_accuracy)}</span> <span class="muted small">· ${pct(doc.baseline_top_3_accuracy)}</span></div><div class="ci">${ci(iv, "top3", (v) => pct(100 * v, 0))}</div></div>`;
      el.innerHTML = `<table><thead><tr><th>Rd</th><th>Grand Prix</th><th>Favourite</th><th>Winner</th>
        <th class="num">Winner's chance: model</th><th class="num">${esc(base)}</th>
        <th class="num">Brier</th><th class="num">${esc(base)}</th><th class="num">Log-loss</th><th class="num">${esc(base)}</th><th>Kind</th></tr></thead>
        <tbody>${doc.by_race.map((r) => `<tr data-race="${r.race_id}"><td>${r.round}</td><td><a href="/next-race?race=${r.race_id}">${esc(r.race_name)}</a></td>
        <td class="${r.correct_winner ? "better" : ""}">${esc(r.predicted_winner || "")}</td><td>${esc(r.actual_winner || "")}</td>
        <td class="num ${more(r.winner_probability, r.baseline_winner_probability)}">${pct(r.winner_probability)}</td><td class="num">${pct(r.baseline_winner_probability)}</td>
        <td class="num ${cmp(r.brier_score, r.baseline_brier_score)}">${num(r.brier_score)}</td><td class="num">${num(r.baseline_brier_score)}</td>
        <td class="num">${num(r.log_loss, 3)}</td><td class="num">${num(r.baseline_log_loss, 3)}</td><td class="muted">${r.kind}</td></tr>`).join("")}</tbody></table>`;
      const chart = $("acc-chart");
      const xs = doc.by_race.map((r) => r.round);
      const data = [xs, doc.by_race.map((r) => r.brier_score), doc.by_race.map((r) => r.baseline_brier_score)];
      if (accPlot) accPlot.destroy();
      chart.innerHTML = "";
      accPlot = new uPlot({
        ...plotSize(chart, 280), scales: { x: { time: false } }, axes: axes("round", "win Brier"),
        series: [{ label: "round" },
          { label: "model", stroke: "#e10600", width: 2, points: { show: true } },
          { label: baseName(doc.baseline), stroke: "#8a93a3", width: 2, dash: [6, 4], points: { show: true } }],
      }, data, chart);
      view.ready = true;
    } catch (err) {
      if (retryWhileLoading(err, el, load)) return;
      fail(el, err);
    }
  };
  $("acc-toggle").addEventListener("click", (e) => { if (e.target.dataset.m) { moment = e.target.dataset.m; load(); } });
  seasonControl(load, query.get("season"));
  await load();
}

/* ------------------------------------------------------------ rankings */
let eloPlot = null;
async function rankings() {
  const load = async () => {
    const el = $("rank-table");
    try {
      const season = $("season").value;
      const q = season ? `season=${encodeURIComponent(season)}` : "";
      const [ranks, hist] = await Promise.all([
        getJSON(`/api/v1/analytics/driver-rankings?${q}&limit=30`),
        getJSON(`/api/v1/analytics/rating-history?${q}&top=8`),
      ]);
      view.data = { ranks, hist };
      $("season").value = ranks.season;
      el.innerHTML = `<table><thead><tr><th>#</th><th>Driver</th><th>Team</th><th class="num">Elo</th>
        <th class="num">Points</th><th class="num">Wins</th><th class="num">Podiums</th><th class="num">Starts</th></tr></thead>
        <tbody>${ranks.rankings.map((r) => `<tr data-driver="${esc(r.code || r.driver_id)}"><td>${r.rank}</td><td>${esc(r.driver_name)}</td>
        <td class="muted">${esc(r.team || "")}</td><td class="num">${r.elo_rating.toFixed(0)}</td><td class="num">${r.championship_points}</td>
        <td class="num">${r.wins}</td><td class="num">${r.podiums}</td><td class="num">${r.starts}</td></tr>`).join("")}</tbody></table>`;
      const chart = $("elo-chart");
      const data = [hist.races.map((r) => r.round), ...hist.series.map((s) => s.ratings)];
      if (eloPlot) eloPlot.destroy();
      chart.innerHTML = "";
      eloPlot = new uPlot({
        ...plotSize(chart, 320), scales: { x: { time: false } }, axes: axes("round", "Elo"),
        series: [{ label: "round" }, ...hist.series.map((s, i) => ({
          label: s.code || s.name, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true,
          points: { show: false }, value: (u, v) => (v == null ? "" : v.toFixed(0)),
        }))],
      }, data, chart);
      view.ready = true;
    } catch (err) { fail(el, err); }
  };
  seasonControl(load, query.get("season"));
  await load();
}

/* ------------------------------------------------------------ standings */
async function standings() {
  const load = async () => {
    const q = new URLSearchParams();
    if ($("season").value) q.set("season", $("season").value);
    if ($("round").value) q.set("round", $("round").value);
    for (const kind of ["drivers", "constructors"]) {
      const el = $(`${kind}-table`);
      try {
        const doc = await getJSON(`/api/v1/standings/${kind}?${q}&limit=100`);
        view.data[kind] = doc;
        $("season").value = doc.season;
        $("standings-sub").textContent = `after round ${doc.round}, ${doc.race_name}`;
        el.innerHTML = `<table><thead><tr><th>Pos</th><th>${kind === "drivers" ? "Driver" : "Constructor"}</th>
          ${kind === "drivers" ? "<th>Team</th>" : ""}<th class="num">Points</th><th class="num">Wins</th></tr></thead>
          <tbody>${doc.standings.map((s) => `<tr><td>${s.position}</td><td>${esc(s.driver_name || s.team)}</td>
          ${kind === "drivers" ? `<td class="muted">${esc(s.team || "")}</td>` : ""}<td class="num">${s.points}</td><td class="num">${s.wins}</td></tr>`).join("")}</tbody></table>`;
      } catch (err) { fail(el, err); }
    }
    view.ready = true;
  };
  seasonControl(load, query.get("season"));
  if (query.get("round")) $("round").value = query.get("round");
  $("round").addEventListener("change", load);
  await load();
}

renderNav();
({ "next-race": nextRace, calendar, accuracy, rankings, standings })[document.body.dataset.page]();
