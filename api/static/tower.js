/* The timing tower as fans read it: position, gap (each car's own; an old one marked old,
 * never replaced by another car's), interval, last and best lap, sectors with the session's
 * (purple) and the car's (green) bests, tyre and its age, stops, the pit window, the next
 * call, where it would rejoin, win and podium chances. The order and the old-gap marks are
 * the standings rules' (strategy/standings.py), as the Redis writer sends them; the page only
 * sorts by position and puts the cars out of the race last, as tower() does. */
"use strict";

const TOWER_COLUMNS = ["P", "Driver", "Gap", "Int", "Last", "Best", "S1", "S2", "S3", "Tyre",
  "Stops", "Pit window", "Next", "Rejoin", "Win", "Podium"];

function isOut(r) { return Boolean(r.retired) || r.status === "retired" || r.status === "stopped"; }

function towerRows(standings) {
  const rows = [...standings.values()];
  const running = rows.filter((r) => !isOut(r))
    .sort((a, b) => ((a.position || 999) - (b.position || 999)) || a.driver.localeCompare(b.driver));
  const out = rows.filter(isOut)
    .sort((a, b) => ((b.out_lap || 0) - (a.out_lap || 0)) || a.driver.localeCompare(b.driver));
  return running.map((r) => ({ ...r, out: false })).concat(out.map((r) => ({ ...r, out: true })));
}

function gapCell(r) {
  if (r.out) return `<td class="num gap" data-label="Gap">${r.out_lap ? `L${r.out_lap}` : ""}</td>`;
  if (r.laps_down) {
    return `<td class="num gap" data-label="Gap">${esc(r.gap_text || `+${r.laps_down} LAP${r.laps_down > 1 ? "S" : ""}`)}</td>`;
  }
  const old = r.gap_old ? ` old" title="old gap: not confirmed lately, or older than the gaps around it` : "";
  return `<td class="num gap${old}" data-label="Gap">${fmtGap(r.gap_to_leader)}</td>`;
}

function markClass(mark) { return mark === "overall" ? "overall" : mark === "personal" ? "personal" : ""; }

function sectorCells(r) {
  const out = [];
  for (let k = 0; k < 3; k += 1) {
    const v = r.out ? null : r.sectors?.[k];
    out.push(`<td class="num sector ${markClass(r.sector_marks?.[k])}" data-label="S${k + 1}">${sectorText(v)}</td>`);
  }
  return out.join("");
}

function rejoinText(rec, track) {
  if (!rec?.rejoin?.length) return "";
  const want = track === "sc" || track === "red" ? "sc" : track && track.startsWith("vsc") ? "vsc" : "green";
  const j = rec.rejoin.find((x) => x.status === want) || rec.rejoin[0];
  const side = (name, gap, sign) => (name ? `${esc(name)} ${sign}${Number(gap).toFixed(1)}` : "");
  const around = [side(j.ahead, j.gap_ahead, "+"), side(j.behind, j.gap_behind, "−")].filter(Boolean).join(" · ");
  return `<span class="rejoin-pos">P${Number(j.position)}</span> <small title="after a ${Number(j.pit_loss).toFixed(1)} s stop (${esc(j.status)})">${around}</small>`;
}

function windowStrip(rec, lap, total) {
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
  return strip + `<div class="now" style="left:${(100 * lap) / total}%"></div></div>`;
}

function nextCall(rec) {
  if (rec?.pit_now) return `<span class="pitnow">BOX</span> ${tyreBadge(rec.recommended_compound)}`;
  if (rec?.recommended_compound) return tyreBadge(rec.recommended_compound);
  return rec ? `<span class="stayout">stay out</span>` : "";
}

function probCell(p, label, cls) {
  return `<td class="num prob-cell" data-label="${label}"><span class="prob">${pct(p)}</span><span class="bar ${cls}" style="width:${Math.round(28 * (p || 0))}px"></span></td>`;
}

/* One <tr> per car; ``ctx``: recs by driver, lap, total laps, track state, colours, bests. */
function towerRow(r, ctx) {
  const rec = r.out ? null : ctx.recs.get(r.driver);
  const prev = ctx.prevPos.get(r.driver);
  const moved = prev && r.position && prev !== r.position ? (r.position < prev ? "up" : "down") : "";
  ctx.prevPos.set(r.driver, r.position);
  const cls = [moved, rec?.pit_now ? "box" : "", r.out ? "retired" : "", ctx.selected.has(r.driver) ? "selected" : ""].join(" ");
  const age = r.tyre_age ?? rec?.tyre_age;
  const best = r.best_lap_time != null && r.best_lap_time <= ctx.fastest ? "overall" : "";
  const title = r.out ? ` title="${esc(r.out_reason || r.status || "out")}"` : "";
  return `<tr data-driver="${esc(r.driver)}" class="${cls}">
    <td class="pos" data-label="P">${r.out ? "OUT" : esc(r.position ?? "")}</td>
    <td class="drv" data-label="Driver"${title}><i style="background:${esc(ctx.colour(r.driver))}"></i>${esc(r.driver)}</td>
    ${gapCell(r)}
    <td class="num int" data-label="Int">${r.out || r.interval == null || r.laps_down || !r.gap_to_leader ? "" : "+" + Number(r.interval).toFixed(3)}</td>
    <td class="num last ${r.out ? "" : markClass(r.lap_mark)}" data-label="Last">${r.out ? "" : lapTimeText(r.last_lap_time)}</td>
    <td class="num best-lap ${best}" data-label="Best">${lapTimeText(r.best_lap_time)}</td>
    ${sectorCells(r)}
    <td class="tyre-cell" data-label="Tyre">${tyreBadge(r.compound || rec?.compound)}<span class="age ${age > 25 ? "old" : ""}">${age == null ? "" : Math.round(age)}</span></td>
    <td class="num stops" data-label="Stops">${esc(r.stops ?? rec?.stops ?? 0)}</td>
    <td class="pitwin" data-label="Window">${r.out ? "" : windowStrip(rec, ctx.lap, ctx.total)}</td>
    <td class="next" data-label="Next">${nextCall(rec)}</td>
    <td class="rejoin" data-testid="rejoin" data-label="Rejoin">${r.out ? "" : rejoinText(rec, ctx.track)}</td>
    ${probCell(rec?.win_prob, "Win", "")}${probCell(rec?.podium_prob, "Podium", "pod")}
  </tr>`;
}

function renderTowerInto(table, empty, rows, ctx) {
  empty.style.display = rows.length ? "none" : "block";
  const bests = rows.map((r) => r.best_lap_time).filter((v) => v != null);
  ctx.fastest = bests.length ? Math.min(...bests) : -1;
  table.querySelector("tbody").innerHTML = rows.map((r) => towerRow(r, ctx)).join("");
}
