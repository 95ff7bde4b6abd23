/* Battles page: the live forecast (WebSocket kind "battles") or a past race's laps. */
"use strict";

const bat = { data: null, live: null, lap: null, updates: 0 };
window.pitwallBattles = bat;

const pbar = (p) => `<span class="pbar" style="width:${Math.round(80 * p) + 2}px"></span> ${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;

function render(lap) {
  bat.lap = lap;
  $("lap-counter").innerHTML = `LAP <b>${lap ? esc(lap.lap) : "–"}</b>`;
  const tb = $("battles").querySelector("tbody");
  if (!lap) { tb.innerHTML = `<tr><td colspan="12" class="muted">No forecast yet.</td></tr>`; return; }
  const pairs = [...lap.pairs].sort((a, b) => b.p_pass_3 - a.p_pass_3);
  tb.innerHTML = pairs.map((p) => {
    const real = lap.passed_within_3 ? lap.passed_within_3[`${p.ahead}-${p.behind}`] : undefined;
    const realText = real === undefined ? "" : real === null ? "<span class='muted'>n/a</span>" : real ? "<b>yes</b>" : "no";
    return `<tr><td class="num pos">${esc(p.position)}</td><td class="drv">${esc(p.ahead)}</td><td class="drv">${esc(p.behind)}</td>
      <td class="num">${fmt(p.gap)}</td><td>${p.drs ? "●" : ""}</td><td class="num">${fmt(p.pace_delta)}</td>
      <td class="num">${esc(p.tyre_age_delta ?? "–")}</td><td>${esc((p.compound_ahead || "?")[0])} / ${esc((p.compound_behind || "?")[0])}</td>
      <td class="p">${pbar(p.p_pass_1)}</td><td class="p">${pbar(p.p_pass_3)}</td><td class="p">${pbar(p.p_pass_5)}</td><td>${realText}</td></tr>`;
  }).join("");
}

async function load() {
  const session = $("session").value.trim(), lap = $("lap").value.trim();
  setParams({ session, lap });
  showError("");
  if (bat.live) { bat.live.close(); bat.live = null; }
  try {
    const body = await getJSON(`/api/v1/battles/${encodeURIComponent(session)}${lap ? `?lap=${lap}` : ""}`);
    bat.data = body;
    $("event-name").textContent = `Battles · ${session}`;
    $("source").textContent = body.source === "live" ? `live · model ${body.model_version}` : `from the race's laps · model ${body.model_version}`;
    const laps = body.laps;
    render(laps.length ? laps[laps.length - 1] : null);
    // A session being run gets the worker's forecast each lap, whatever answered first.
    if (!lap) {
      bat.live = liveSocket(session, (kind, data) => {
        if (kind !== "battles") return;
        bat.updates += 1;
        $("source").textContent = `live · model ${data.model_version}`;
        render({ lap: data.lap, pairs: data.pairs });
      });
    }
  } catch (e) {
    showError(e.message);
    render(null);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const p = params();
  $("session").value = p.get("session") || "2023-bahrain-R";
  $("lap").value = p.get("lap") || "";
  $("form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
});
