/* Telemetry page: two laps from /api/v1/telemetry/compare, on the first lap's distance. */
"use strict";

const telState = { data: null, charts: [] };
window.pitwallTelemetry = telState;

function interp(xs, xp, fp) {
  const out = new Array(xs.length);
  let j = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    while (j < xp.length - 2 && xp[j + 1] < x) j++;
    const t = (x - xp[j]) / ((xp[j + 1] - xp[j]) || 1);
    out[i] = fp[j] + Math.min(Math.max(t, 0), 1) * (fp[j + 1] - fp[j]);
  }
  return out;
}

function chart(id, channel, body, colours, height = 200) {
  const [a, b] = body.traces;
  const scale = b.length / a.length;  // compared at the same fraction of the lap
  const bx = a.distance.map((d) => d * scale);
  const data = [a.distance, a[channel], interp(bx, b.distance, b[channel])];
  const series = [{ label: "m" }, { label: `${a.driver} L${a.lap}`, stroke: colours[0], width: 1.5 },
    { label: `${b.driver} L${b.lap}`, stroke: colours[1], width: 1.5 }];
  $(id).innerHTML = "";
  telState.charts.push(new uPlot(uplotOpts("", panelWidth(id), height, series), data, $(id)));
}

async function load() {
  const session = $("session").value.trim(), drivers = $("drivers").value.trim().toUpperCase();
  const laps = $("laps").value.trim();
  setParams({ session, drivers, laps });
  showError("");
  try {
    const q = `session=${encodeURIComponent(session)}&drivers=${encodeURIComponent(drivers)}` +
      (laps ? `&laps=${encodeURIComponent(laps)}` : "");
    const body = await getJSON(`/api/v1/telemetry/compare?${q}`);
    telState.data = body;
    telState.charts.forEach((c) => c.destroy()); telState.charts = [];
    const [a, b] = body.traces;
    let colours = [colourOf(null, 0), colourOf(null, 2)];
    $("event-name").textContent = `${body.event} · ${body.session_name} · ${a.driver} L${a.lap} ${lapTime(a.lap_time)} vs ${b.driver} L${b.lap} ${lapTime(b.lap_time)}`;
    $("tel-meta").textContent = `km/h vs metres from the line · ${a.length.toFixed(0)} m lap`;
    chart("speed-chart", "speed", body, colours, 260);
    chart("throttle-chart", "throttle", body, colours);
    chart("brake-chart", "brake", body, colours);
    const delta = [a.distance, body.delta];
    $("delta-chart").innerHTML = "";
    telState.charts.push(new uPlot(uplotOpts("", panelWidth("delta-chart"), 200,
      [{ label: "m" }, { label: `${b.driver} − ${a.driver} (s)`, stroke: colours[1], width: 2 }]), delta, $("delta-chart")));
    const ms = body.mini_sectors;
    $("minis").innerHTML = ms.fastest.map((d) => `<i style="background:${d === a.driver ? colours[0] : colours[1]}" title="${esc(d)}"></i>`).join("");
    const head = $("corners").querySelector("thead"), tb = $("corners").querySelector("tbody");
    head.innerHTML = `<tr><th class="num">at m</th><th class="num">${esc(a.driver)} km/h</th><th class="num">gear</th><th class="num">${esc(b.driver)} km/h</th><th class="num">Δ</th></tr>`;
    tb.innerHTML = body.corners.map((c) => `<tr><td class="num">${c.distance.toFixed(0)}</td><td class="num">${c.speed.toFixed(0)}</td>
      <td class="num">${esc(c.gear ?? "–")}</td><td class="num">${fmt(c.other_speed, 0)}</td><td class="num">${c.speed_delta === null ? "–" : (c.speed_delta > 0 ? "+" : "") + c.speed_delta.toFixed(0)}</td></tr>`).join("");
  } catch (e) {
    showError(e.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const p = params();
  $("session").value = p.get("session") || "2025-australian-Q";
  $("drivers").value = p.get("drivers") || "NOR,PIA";
  $("laps").value = p.get("laps") || "";
  $("form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
});
