/* The dashboard's small helpers: escaping every text that comes from the feed before it goes
 * into HTML, number formats, colours, and compact chart legends. Loaded first. */
"use strict";

const $ = (id) => document.getElementById(id);

/* Text from the feed (race control, names, reasons) as HTML text or an attribute value. */
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

const COMPOUND = {
  SOFT: ["s", "S", "#ff3b3b"], MEDIUM: ["m", "M", "#ffd12e"], HARD: ["h", "H", "#f2f2f2"],
  INTERMEDIATE: ["i", "I", "#3ec45a"], WET: ["w", "W", "#2f8cff"],
};
const PALETTE = ["#e10600", "#00d2be", "#ff8700", "#0090ff", "#9b59b6", "#f1c40f", "#2ecc71",
  "#e84393", "#7f8c8d", "#d35400"];

function compoundColour(compound) {
  return COMPOUND[String(compound || "").toUpperCase()]?.[2] || "#777";
}

function tyreBadge(compound) {
  const c = COMPOUND[String(compound || "").toUpperCase()];
  return c ? `<span class="tyre ${c[0]}" title="${esc(compound)}">${c[1]}</span>`
    : `<span class="tyre">?</span>`;
}

const pct = (p) => (p == null ? "" : (p * 100).toFixed(p >= 0.1 ? 0 : 1) + "%");

function lapTimeText(s) {
  if (s == null) return "";
  const m = Math.floor(s / 60);
  const rest = (s - 60 * m).toFixed(3);
  return m ? `${m}:${rest.padStart(6, "0")}` : rest;
}

function sectorText(s) { return s == null ? "" : Number(s).toFixed(3); }

function fmtGap(v) { return v == null ? "" : v === 0 ? "LEADER" : "+" + Number(v).toFixed(3); }

/* A legend that fits: small chips that wrap, scroll past a few lines, and toggle on click. */
function renderLegend(el, items, onClick) {
  el.innerHTML = items.map((it) => `<button type="button" class="lchip${it.on === false ? " off" : ""}${it.hot ? " hot" : ""}"
      data-key="${esc(it.key)}" title="${esc(it.title || it.label)}"><i style="background:${esc(it.colour)}${it.dash ? ";border-style:dashed" : ""}"></i>${esc(it.label)}</button>`).join("");
  if (onClick && !el.dataset.wired) {
    el.dataset.wired = "1";
    el.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-key]");
      if (b) el._onClick(b.dataset.key);
    });
  }
  el._onClick = onClick;
}

function chartAxes(xLabel, yUnit) {
  const grid = { stroke: "#232a35", width: 1 };
  const ticks = { stroke: "#232a35" };
  return [
    { stroke: "#8a93a3", grid, ticks, label: xLabel, labelSize: 18 },
    { stroke: "#8a93a3", grid, ticks, size: 58, values: (u, v) => v.map((x) => x + (yUnit || "")) },
  ];
}
