/**
 * `/`: a live dashboard in one self-contained page (no external assets). It
 * reads `/v1/symbols`, subscribes on `/v1/stream` to every symbol's trades and
 * its shortest timeframe's bars (with a snapshot), and shows per symbol the
 * latest trades, a close-price sparkline and the last few candles.
 *
 * The page itself is public; its data calls are not when auth is configured.
 * Open it as `/#token=<token>`: the fragment never leaves the browser, and
 * the page sends the token as `Authorization: Bearer` and as the
 * `bearer.<token>` WebSocket subprotocol (next to `tickwire.json`).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tickwire</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; background: #0f1115; color: #d8dde6; }
  h1 { font-size: 16px; margin: 0 0 12px; }
  #state { color: #8a93a3; font-weight: normal; margin-left: 8px; }
  #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }
  .card { background: #181b22; border: 1px solid #262a33; border-radius: 6px; padding: 10px; }
  .card h2 { font-size: 13px; margin: 0 0 6px; display: flex; justify-content: space-between; }
  .price { font-variant-numeric: tabular-nums; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 12px; }
  td, th { text-align: right; padding: 1px 4px; }
  th { color: #8a93a3; font-weight: normal; }
  td:first-child, th:first-child { text-align: left; }
  .buy { color: #3fb950; } .sell { color: #f85149; }
  .note { color: #d29922; font-size: 12px; min-height: 1em; }
  svg { width: 100%; height: 48px; display: block; margin: 4px 0; }
</style>
</head>
<body>
<h1>tickwire <span id="state">connecting…</span></h1>
<div id="grid"></div>
<script>
"use strict";
const grid = document.getElementById("grid");
const state = document.getElementById("state");
const series = new Map(); // "exchange:symbol" -> { trades: [], bars: [], tf, el, note }
let dirty = false;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function time(ms) { return new Date(ms).toISOString().slice(11, 19); }

function card(exchange, symbol, tf) {
  const root = el("div", "card");
  const head = el("h2");
  head.append(el("span", "", exchange + " · " + symbol + " · " + tf), el("span", "price", "–"));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 100 30");
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("fill", "none"); line.setAttribute("stroke", "#58a6ff"); line.setAttribute("stroke-width", "0.8");
  svg.append(line);
  const candles = el("table"); const trades = el("table"); const note = el("div", "note");
  root.append(head, svg, candles, el("div", "", " "), trades, note);
  grid.append(root);
  return { price: head.lastChild, line, candles, trades, note };
}

function render() {
  dirty = false;
  for (const s of series.values()) {
    const last = s.trades[0];
    if (last) { s.el.price.textContent = last.price; s.el.price.className = "price " + last.side; }
    const closes = s.bars.map((b) => b.close);
    if (closes.length > 1) {
      const lo = Math.min(...closes), hi = Math.max(...closes), span = hi - lo || 1;
      s.el.line.setAttribute("points", closes.map((c, i) =>
        (i * 100 / (closes.length - 1)).toFixed(2) + "," + (28 - (c - lo) * 26 / span).toFixed(2)).join(" "));
    }
    const ct = s.el.candles; ct.replaceChildren();
    const hr = el("tr"); for (const h of ["open", "o", "h", "l", "c", "vol"]) hr.append(el("th", "", h)); ct.append(hr);
    for (const b of s.bars.slice(-5).reverse()) {
      const r = el("tr");
      r.append(el("td", "", time(b.openTime) + (b.closed ? "" : " ·")), el("td", "", b.open), el("td", "", b.high),
        el("td", "", b.low), el("td", "", b.close), el("td", "", +b.volume.toFixed(6)));
      ct.append(r);
    }
    const tt = s.el.trades; tt.replaceChildren();
    const th = el("tr"); for (const h of ["time", "side", "price", "size"]) th.append(el("th", "", h)); tt.append(th);
    for (const t of s.trades) {
      const r = el("tr");
      r.append(el("td", "", time(t.ts)), el("td", t.side, t.side), el("td", "", t.price), el("td", "", t.size));
      tt.append(r);
    }
  }
}
function changed() { if (!dirty) { dirty = true; requestAnimationFrame(render); } }

function upsertBar(s, bar) {
  const bars = s.bars, last = bars[bars.length - 1];
  if (last && last.openTime === bar.openTime) bars[bars.length - 1] = bar;
  else if (!last || bar.openTime > last.openTime) { bars.push(bar); if (bars.length > 30) bars.shift(); }
  else { const i = bars.findIndex((b) => b.openTime === bar.openTime); if (i >= 0) bars[i] = bar; }
}

function onMessage(m) {
  const key = m.exchange ? m.exchange + ":" + m.symbol : m.channel ? m.channel.split(":").slice(1, m.channel.startsWith("bars:") ? -1 : undefined).join(":") : "";
  const s = series.get(key);
  switch (m.type) {
    case "trade": if (s) { s.trades.unshift(m); if (s.trades.length > 10) s.trades.pop(); changed(); } break;
    case "bar": if (s) { upsertBar(s, m); changed(); } break;
    case "snapshot": if (s) { s.bars = m.bars.slice(-30); changed(); } break;
    case "gap": if (s) s.el.note.textContent = "gap: messages " + m.fromSeq + "–" + m.toSeq + " skipped (" + m.reason + ")"; break;
    case "error": state.textContent = "error " + m.code + ": " + m.message; break;
  }
}

const TOKEN = new URLSearchParams(location.hash.slice(1)).get("token") || "";

async function start() {
  const res = await fetch("/v1/symbols", { headers: TOKEN ? { authorization: "Bearer " + TOKEN } : {} });
  if (res.status === 401) throw new Error("this server needs a token: open " + location.pathname + "#token=<your token>");
  const { exchanges } = await res.json();
  const channels = [];
  for (const [exchange, symbols] of Object.entries(exchanges)) {
    for (const [symbol, tfs] of Object.entries(symbols)) {
      const key = exchange + ":" + symbol;
      if (!series.has(key)) series.set(key, { trades: [], bars: [], el: card(exchange, symbol, tfs[0] || "-") });
      channels.push("trades:" + key);
      if (tfs.length) channels.push("bars:" + key + ":" + tfs[0]);
    }
  }
  connect(channels);
}

function connect(channels) {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/stream",
    TOKEN ? ["tickwire.json", "bearer." + TOKEN] : ["tickwire.json"]);
  ws.onopen = () => {
    state.textContent = "live";
    for (let i = 0; i < channels.length; i += 500) {
      ws.send(JSON.stringify({ op: "subscribe", id: i, channels: channels.slice(i, i + 500), snapshot: 30 }));
    }
  };
  ws.onmessage = (e) => onMessage(JSON.parse(e.data));
  ws.onclose = () => { state.textContent = "disconnected, retrying…"; setTimeout(() => connect(channels), 2000); };
}

start().catch((e) => { state.textContent = "failed: " + e.message; });
</script>
</body>
</html>
`;
