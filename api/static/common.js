/* Shared by the analytics and pre-race pages: the nav, the session/driver form state in the URL, JSON
 * fetching with the API's error messages, team colours and a live WebSocket. */
"use strict";

const PAGES = [["/dashboard", "Live"], ["/compare", "Compare"], ["/telemetry", "Telemetry"],
  ["/battles", "Battles"], ["/track", "Track map"], ["/next-race", "Next race"],
  ["/calendar", "Calendar"], ["/accuracy", "Accuracy"], ["/rankings", "Rankings"],
  ["/standings", "Standings"]];
const FALLBACK = ["#e10600", "#00d2be", "#ff8700", "#0090ff", "#9b59b6", "#f1c40f", "#2ecc71",
  "#e84393", "#7f8c8d", "#d35400"];
const COMPOUND_COLOUR = { SOFT: "#ff3b3b", MEDIUM: "#ffd12e", HARD: "#f2f2f2",
  INTERMEDIATE: "#3ec45a", WET: "#2f8cff" };
const $ = (id) => document.getElementById(id);

/* Text from the API or the feed as HTML text or an attribute value. */
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function renderNav() {
  const nav = document.querySelector(".nav");
  if (!nav) return;
  const q = new URLSearchParams(location.search).get("session");
  nav.innerHTML = PAGES.map(([href, name]) => {
    const url = q ? `${href}?session=${encodeURIComponent(q)}` : href;
    const on = location.pathname === href ? " on" : "";
    return `<a class="${on.trim()}" href="${url}">${name}</a>`;
  }).join("");
}

function params() { return new URLSearchParams(location.search); }

function setParams(obj) {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined || v === "") url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  history.replaceState(null, "", url);
  renderNav();
}

async function getJSON(url) {
  // With auth.js on the page: the dashboard's signed-in user (PITWALL_AUTH_READS=1).
  const r = await (window.pitwallAuth ? window.pitwallAuth.fetch(url) : fetch(url));
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || `${r.status} ${r.statusText}`);
  return body;
}

function colourOf(driverRef, i) {
  return (driverRef && driverRef.colour) || FALLBACK[i % FALLBACK.length];
}

function showError(msg) {
  const el = $("error");
  if (el) el.textContent = msg || "";
}

function fmt(v, digits = 3) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
function lapTime(s) {
  if (s === null || s === undefined) return "–";
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(3).padStart(6, "0")}`;
}

/* A session's live updates (kinds: battles, positions, ...) over the gateway's WebSocket. */
function liveSocket(key, onUpdate, onSnapshot) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let ws = null, stopped = false;
  const open = () => {
    ws = new WebSocket(`${proto}://${location.host}/ws/sessions/${encodeURIComponent(key)}`);
    ws.onopen = () => { const hello = window.pitwallAuth?.wsHello(); if (hello) ws.send(hello); };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      const each = (m) => {
        if (m.type === "snapshot") onSnapshot && onSnapshot(m);
        else if (m.type === "batch") m.updates.forEach(each);
        else if (m.type === "update") onUpdate(m.kind, m.data);
      };
      each(msg);
    };
    ws.onclose = () => { if (!stopped) setTimeout(open, 2000); };
  };
  open();
  return { close() { stopped = true; ws && ws.close(); }, get socket() { return ws; } };
}

function uplotOpts(title, width, height, series, extra = {}) {
  return Object.assign({
    title, width, height, series,
    scales: { x: { time: false } },
    axes: [{ stroke: "#8a93a3", grid: { stroke: "#222833" } },
           { stroke: "#8a93a3", grid: { stroke: "#222833" } }],
    legend: { live: true },
  }, extra);
}

function panelWidth(id) { return Math.max(300, $(id).clientWidth - 10); }

document.addEventListener("DOMContentLoaded", renderNav);
