/* Track map: the circuit outline (/api/v1/track/{session}) and the cars' latest X/Y, moved by
 * the session's WebSocket updates of kind "positions", coloured by team. */
"use strict";

const trk = { map: null, cars: new Map(), updates: 0, moves: 0, live: null, box: null };
window.pitwallTrack = trk;
const SVGNS = "http://www.w3.org/2000/svg";

function toView([x, y]) { return [x - trk.box.minx, trk.box.maxy - y]; }

function drawOutline(map) {
  const svg = $("track-map");
  const xs = map.outline.map((p) => p[0]), ys = map.outline.map((p) => p[1]);
  const pad = 0.06 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  trk.box = { minx: Math.min(...xs) - pad, maxx: Math.max(...xs) + pad, miny: Math.min(...ys) - pad, maxy: Math.max(...ys) + pad };
  svg.setAttribute("viewBox", `0 0 ${trk.box.maxx - trk.box.minx} ${trk.box.maxy - trk.box.miny}`);
  const scale = map.frame === "car" ? 1 : 10;  // metres outlines: thinner stroke units
  const pts = map.outline.map((p) => toView(p).join(",")).join(" ");
  svg.innerHTML = `<polyline class="outline" points="${pts}" style="stroke-width:${60 / scale}"/><g id="cars"></g>`;
}

function colour(driver) {
  const d = (trk.map?.drivers || []).find((x) => x.driver === driver);
  const i = (trk.map?.drivers || []).indexOf(d);
  return colourOf(d, i < 0 ? 0 : i);
}

function placeCar(driver, pos) {
  if (!trk.box || pos.x === null || pos.y === null) return;
  let g = trk.cars.get(driver);
  if (!g) {
    g = document.createElementNS(SVGNS, "g");
    g.setAttribute("class", "car");
    g.dataset.driver = driver;
    g.innerHTML = `<circle r="110" fill="${esc(colour(driver))}"></circle><text x="140" y="60">${esc(driver)}</text>`;
    $("cars").appendChild(g);
    trk.cars.set(driver, g);
  }
  const [vx, vy] = toView([pos.x, pos.y]);
  const before = g.getAttribute("transform");
  const after = `translate(${vx.toFixed(0)},${vy.toFixed(0)})`;
  if (before !== after) { g.setAttribute("transform", after); trk.moves += 1; }
}

async function load() {
  const session = $("session").value.trim();
  setParams({ session });
  showError("");
  if (trk.live) { trk.live.close(); trk.live = null; }
  trk.cars.clear();
  try {
    const map = await getJSON(`/api/v1/track/${encodeURIComponent(session)}`);
    trk.map = map;
    $("event-name").textContent = `${map.circuit} · ${session}`;
    $("frame").textContent = map.frame === "car"
      ? `outline fitted to the cars' positions (mean ${map.residual_m} m off their line)`
      : "no car positions in this session's data: outline only";
    drawOutline(map);
    const now = await getJSON(`/api/v1/track/${encodeURIComponent(session)}/positions`);
    for (const [d, p] of Object.entries(now.cars)) placeCar(d, p);
    trk.live = liveSocket(session, (kind, data) => {
      if (kind !== "positions") return;
      trk.updates += 1;
      for (const [d, p] of Object.entries(data.cars)) placeCar(d, p);
    });
    const el = $("conn-status");
    const poll = setInterval(() => {
      if (!trk.live) return clearInterval(poll);
      const open = trk.live.socket && trk.live.socket.readyState === 1;
      el.className = "conn " + (open ? "live" : "");
      el.querySelector("span").textContent = open ? "live" : "offline";
    }, 500);
  } catch (e) {
    showError(e.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("session").value = params().get("session") || "2025-australian-R";
  $("form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
});
