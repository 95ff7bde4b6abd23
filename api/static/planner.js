/* The what-if planner: pick a driver, one or two stops (lap and compound), and race the plan
 * against the engine's current plan for that car from the live race now: the race model's
 * input comes from ``GET /sessions/{key}/race-state``, both plans go to
 * ``POST /strategies/compare`` (same random numbers for both), and the page shows each plan's
 * finishing-position distribution, win and podium chances and expected position, with where
 * the car would rejoin if it boxed now. */
"use strict";

const planner = { last: null, busy: false, error: "" };
const PLAN_COMPOUNDS = ["SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET"];
const PLAN_SIMS = 2000;

function plannerOptions(drivers, recs) {
  const sel = $("plan-driver"), keep = sel.value;
  const names = drivers.filter((d) => recs.has(d));
  if (names.join() === sel.dataset.names) return;
  sel.dataset.names = names.join();
  sel.innerHTML = names.map((d) => `<option value="${esc(d)}">${esc(d)}</option>`).join("");
  if (names.includes(keep)) sel.value = keep;
  else if (names.length) { sel.value = names[0]; plannerDefaults(); }
}

function plannerDefaults() {
  const rec = recsByDriver().get($("plan-driver").value);
  const lap = currentLap(), total = totalLaps() || lap + 20;
  const first = rec?.pit_window ? Math.max(rec.pit_window.best_lap, lap + 1) : Math.min(lap + 5, total - 1);
  $("plan-lap1").value = Math.min(first, total - 1);
  $("plan-lap2").value = Math.min(first + Math.round((total - first) / 2), total - 1);
  $("plan-c1").value = rec?.recommended_compound && PLAN_COMPOUNDS.includes(rec.recommended_compound) ? rec.recommended_compound : "HARD";
  $("plan-c2").value = "MEDIUM";
}

/* The engine's plan for the car now: a stop on the best lap of its window, else none. */
function enginePlan(rec, rs) {
  if (!rec?.pit_window) return [];
  const lap = Math.min(Math.max(rec.pit_window.best_lap, rs.lap + 1), rs.laps_total - 1);
  const compound = PLAN_COMPOUNDS.includes(rec.recommended_compound) ? rec.recommended_compound : "HARD";
  return lap > rs.lap ? [{ lap, compound }] : [];
}

function chosenPlan() {
  const stops = Number($("plan-stops").value);
  const plan = [{ lap: Number($("plan-lap1").value), compound: $("plan-c1").value }];
  if (stops > 1) plan.push({ lap: Number($("plan-lap2").value), compound: $("plan-c2").value });
  return plan;
}

async function postJSON(url, body) {
  const r = await window.pitwallAuth.fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof out.detail === "string" ? out.detail : `${r.status} ${JSON.stringify(out.detail || "")}`);
  return out;
}

async function runPlanner(e) {
  e?.preventDefault();
  if (planner.busy || !state.key) return;
  planner.busy = true; planner.error = "";
  $("planner-meta").textContent = "racing the plans…";
  const started = performance.now();
  try {
    const driver = $("plan-driver").value;
    const r = await window.pitwallAuth.fetch(`/sessions/${encodeURIComponent(state.key)}/race-state`);
    const rs = await r.json();
    if (!r.ok) throw new Error(rs.detail || `${r.status}`);
    const rec = recsByDriver().get(driver);
    const plans = [enginePlan(rec, rs), chosenPlan()];
    const result = await postJSON("/strategies/compare", { state: rs, driver, plans, n_sims: PLAN_SIMS, seed: 7 });
    planner.last = { ...result, lap: rs.lap, roundTripMs: Math.round(performance.now() - started), rejoin: rec?.rejoin };
  } catch (err) {
    planner.error = err.message;
  } finally {
    planner.busy = false;
    renderPlanner();
  }
}

function planText(plan) {
  return plan.length ? plan.map((s) => `L${s.lap} ${s.compound[0]}${s.compound.slice(1).toLowerCase()}`).join(" → ") : "no more stops";
}

function distributionSvg(outcomes) {
  const n = Math.max(...outcomes.map((o) => o.position_distribution.length));
  const W = 340, H = 90, bw = W / n, top = Math.max(...outcomes.flatMap((o) => o.position_distribution), 0.01);
  const colours = ["#8a93a3", "#e10600"];
  let out = "";
  outcomes.forEach((o, k) => o.position_distribution.forEach((p, i) => {
    const h = (H - 14) * (p / top);
    out += `<rect x="${i * bw + 1 + k * (bw / 2 - 1)}" y="${H - 12 - h}" width="${bw / 2 - 1}" height="${h}" fill="${colours[k]}"><title>P${i + 1}: ${(p * 100).toFixed(1)}%</title></rect>`;
  }));
  for (let i = 0; i < n; i += n > 12 ? 2 : 1) out += `<text x="${i * bw + bw / 2}" y="${H - 1}" text-anchor="middle">${i + 1}</text>`;
  return `<svg class="dist" viewBox="0 0 ${W} ${H}" data-testid="planner-distribution">${out}</svg>`;
}

function renderPlanner() {
  const el = $("planner-result"), res = planner.last;
  if (planner.error) {
    $("planner-meta").textContent = "";
    el.innerHTML = `<p class="error">${esc(planner.error)}</p>`;
    return;
  }
  if (!res) return;
  $("planner-meta").textContent = `from lap ${res.lap} · ${PLAN_SIMS.toLocaleString()} races each · ${res.roundTripMs} ms`;
  const names = ["engine's plan", "your plan"];
  const rows = res.outcomes.map((o, k) => `<tr class="${k ? "mine" : "engine"}${k === res.best_index ? " best" : ""}">
      <td><i class="key k${k}"></i>${names[k]}</td><td>${esc(planText(o.plan))}</td>
      <td class="num">${pct(o.win_prob)}</td><td class="num">${pct(o.podium_prob)}</td>
      <td class="num">${Number(o.expected_position).toFixed(1)}</td></tr>`).join("");
  const j = res.rejoin?.find((x) => x.status === "green");
  const rejoin = j ? `If ${esc(res.driver)} boxed now it would rejoin P${Number(j.position)}${j.ahead ? ` behind ${esc(j.ahead)}` : ""}${j.behind ? `, ahead of ${esc(j.behind)}` : ""}.` : "";
  el.innerHTML = `<table class="plans"><thead><tr><th>Plan</th><th>Stops</th><th class="num">Win</th><th class="num">Podium</th><th class="num">Exp. pos</th></tr></thead><tbody>${rows}</tbody></table>
    ${distributionSvg(res.outcomes)}<p class="meta">Finishing position: grey the engine's plan, red yours. ${rejoin}</p>`;
}

function wirePlanner() {
  for (const id of ["plan-c1", "plan-c2"]) {
    $(id).innerHTML = PLAN_COMPOUNDS.map((c) => `<option value="${c}">${c[0]}${c.slice(1).toLowerCase()}</option>`).join("");
  }
  $("plan-driver").addEventListener("change", plannerDefaults);
  $("plan-stops").addEventListener("change", () => { $("stop2").hidden = $("plan-stops").value !== "2"; });
  $("planner-form").addEventListener("submit", runPlanner);
  $("stop2").hidden = true;
}
