/* The live feed of one session: the gateway's WebSocket (snapshot, then updates), reconnected
 * with exponential backoff and jitter (1 s doubling to 30 s) while a banner says so, a fresh
 * snapshot after each reconnect, and the broadcast delay: every message, the snapshot too, is
 * held back ``delay`` seconds after it arrived, so the page runs with a TV picture that runs
 * behind the feed. The delay (0-120 s) is kept in this browser. */
"use strict";

const DELAY_KEY = "pitwall.delay";
const MAX_DELAY_S = 120;
const UNAUTHORIZED = 4401;

function storedDelay() {
  const v = Number(localStorage.getItem(DELAY_KEY) || 0);
  return Number.isFinite(v) ? Math.min(Math.max(Math.round(v), 0), MAX_DELAY_S) : 0;
}

class Feed {
  /* onMessage(msg) gets each message once its delay has passed; onState(mode, detail) hears
     "connecting", "live", "reconnecting" (detail: {attempt, wait}) and "offline". */
  constructor(onMessage, onState) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.delay = storedDelay();
    this.queue = [];  // [receivedAt ms, message] waiting for the delay
    this.ws = null;
    this.key = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.drainTimer = null;
    this.received = 0;
  }

  setDelay(seconds) {
    this.delay = Math.min(Math.max(Math.round(Number(seconds) || 0), 0), MAX_DELAY_S);
    localStorage.setItem(DELAY_KEY, String(this.delay));
    this.drain();
  }

  open(key) {
    this.close();
    this.key = key;
    this.attempt = 0;
    this.connect();
  }

  close() {
    clearTimeout(this.retryTimer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); }
    this.ws = null;
    this.queue = [];
  }

  connect() {
    const key = this.key;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/sessions/${encodeURIComponent(key)}`);
    this.ws = ws;
    this.onState(this.attempt ? "reconnecting" : "connecting", { attempt: this.attempt, wait: 0 });
    ws.onopen = () => {
      const hello = window.pitwallAuth?.wsHello();
      if (hello) ws.send(hello);
    };
    ws.onmessage = (ev) => {
      this.received += 1;
      const msg = JSON.parse(ev.data);
      if (msg.type === "snapshot") {
        this.attempt = 0;
        this.onState("live");
      }
      this.queue.push([Date.now(), msg]);
      this.drain();
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.key !== key) return;
      this.retry(ev.code);
    };
  }

  async retry(code) {
    if (code === UNAUTHORIZED && window.pitwallAuth) {
      this.onState("offline", { reason: "sign in" });
      if (!(await window.pitwallAuth.refresh())) await window.pitwallAuth.whenSignedIn(true);
    }
    this.attempt += 1;
    const base = Math.min(30, 2 ** (this.attempt - 1));
    const wait = base * (0.8 + 0.4 * Math.random());
    this.onState("reconnecting", { attempt: this.attempt, wait });
    this.retryTimer = setTimeout(() => this.connect(), wait * 1000);
  }

  /* Hand on every message whose delay has passed; come back for the next one. */
  drain() {
    clearTimeout(this.drainTimer);
    const due = Date.now() - this.delay * 1000;
    while (this.queue.length && this.queue[0][0] <= due) this.onMessage(this.queue.shift()[1]);
    if (this.queue.length) {
      this.drainTimer = setTimeout(() => this.drain(), Math.max(this.queue[0][0] - due, 20));
    }
  }

  get held() { return this.queue.length; }

  send(obj) {
    if (this.ws?.readyState === 1) this.ws.send(JSON.stringify(obj));
  }
}
