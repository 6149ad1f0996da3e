// The dashboard (/): one symbol's candles and volume (lightweight-charts, served by
// this server), its trades and top of book, every exchange's state (room `system`),
// latency percentiles (/v1/latency), alerts (room `alerts`), and the portfolios'
// values and the price feeds' active sources (`portfolio:<id>`, `prices:<feed>`;
// panels in dashboard-analytics.js), all live over /v1/stream. The pick
// (exchange, symbol, timeframe) lives in the URL fragment with the token:
// `/#exchange=binance&symbol=BTCUSDT&tf=1m&token=…` (a fragment never leaves the
// browser). Everything kept is bounded: BARS bars, TAPE trades, ALERTS alerts.
"use strict";
(() => {
  const BARS = 1000; // snapshot size and bars kept
  const VISIBLE = 120; // bars shown across the chart after a pick (scroll or zoom for more)
  const MIN_VISIBLE = 40; // a few bars are not stretched across the whole width
  const TAPE = 60;
  const ALERTS = 50;
  const LATENCY_EVERY_MS = 5000;
  const FEEDS_EVERY_MS = 5000; // sources' health (GET /v1/feeds); prices and switches come live
  const UP = "#26a69a";
  const DOWN = "#ef5350";

  const $ = (id) => document.getElementById(id);
  const ui = {
    conn: $("conn"), symbol: $("symbol"), timeframe: $("timeframe"), last: $("last"), notice: $("notice"),
    legend: $("legend"), chart: $("chart"), bid: $("bid"), ask: $("ask"), spread: $("spread"), bookNote: $("book-note"),
    tape: $("tape").tBodies[0], exchanges: $("exchanges").tBodies[0], latency: $("latency").tBodies[0], alerts: $("alerts"),
    feedsProblem: $("feeds-problem"), portfoliosProblem: $("portfolios-problem"),
  };

  const fragment = new URLSearchParams(location.hash.slice(1));
  const TOKEN = fragment.get("token") || "";
  const authHeaders = TOKEN ? { authorization: "Bearer " + TOKEN } : {};

  // ── state ──────────────────────────────────────────────────────────────
  let symbols = {}; // exchange → symbol → timeframes
  let pick = null; // { exchange, symbol, tf }
  let channels = null; // { trades, quotes, bars } of the pick
  let bars = []; // the pick's bars, oldest first
  const exchangeStates = new Map(); // exchange → system message
  let storageState = null;
  let socket = null;
  let connected = false;
  let nextId = 1;
  let quotesRequest = 0;
  let quotesHeld = false;
  let roomsRequest = 0;
  let roomsRefused = null; // why the server refused `system` and `alerts` (a token without them), or null
  let epoch = null; // the server life the seqs below belong to
  let alertsSeq = 0; // the last alert shown: a (re)subscribe replays what came after it, from the server's resume history
  let retryMs = 500;
  let reopened = false; // the stream was open before (a reconnect)
  let feedNames = []; // feeds of GET /v1/feeds: their `prices:` channels
  let portfolioIds = []; // portfolios of GET /v1/portfolios: their `portfolio:` channels
  let feedsOn = null; // the socket the `prices:` channels were subscribed on
  let portfoliosOn = null;
  let feedsRequest = 0;
  let portfoliosRequest = 0;
  const portfolioPanel = window.TickwireAnalytics.portfolios($("portfolios"));
  const feedPanel = window.TickwireAnalytics.feeds($("feeds"));

  // ── chart ──────────────────────────────────────────────────────────────
  const LC = window.LightweightCharts;
  const chart = LC.createChart(ui.chart, {
    autoSize: true,
    layout: { background: { type: "solid", color: "#171a21" }, textColor: "#d8dde6", fontSize: 11 },
    grid: { vertLines: { color: "#20242c" }, horzLines: { color: "#20242c" } },
    timeScale: { timeVisible: true, secondsVisible: true, borderColor: "#262a33" },
    rightPriceScale: { borderColor: "#262a33" },
    crosshair: { mode: LC.CrosshairMode.Normal },
  });
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: UP, downColor: DOWN, wickUpColor: UP, wickDownColor: DOWN, borderVisible: false,
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.26 } });
  const volume = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });

  const toCandle = (b) => ({ time: b.openTime / 1000, open: b.open, high: b.high, low: b.low, close: b.close });
  const toVolume = (b) => ({ time: b.openTime / 1000, value: b.volume, color: b.close >= b.open ? "rgba(38,166,154,.45)" : "rgba(239,83,80,.45)" });

  /** Decimals that show a price's precision (bounded to 8). */
  function decimalsOf(price) {
    for (let d = 0; d <= 8; d++) if (Math.abs(price * 10 ** d - Math.round(price * 10 ** d)) < 1e-6) return Math.max(d, 2);
    return 8;
  }

  function setPrecision() {
    let d = 2;
    for (const b of bars.slice(-50)) d = Math.max(d, decimalsOf(b.open), decimalsOf(b.close));
    candles.applyOptions({ priceFormat: { type: "price", precision: d, minMove: 10 ** -d } });
  }

  function redrawAll() {
    candles.setData(bars.map(toCandle));
    volume.setData(bars.map(toVolume));
    setPrecision();
    legend(bars[bars.length - 1]);
    ui.chart.dataset.bars = String(bars.length);
  }

  /** After a snapshot: the last bars at a readable width (MIN_VISIBLE..VISIBLE bars across), newest at the right. */
  function showRecent() {
    const span = Math.min(Math.max(bars.length, MIN_VISIBLE), VISIBLE);
    chart.timeScale().setVisibleLogicalRange({ from: bars.length - span, to: bars.length + 1 });
  }

  /** A live bar: the forming one updated, a new one appended, an older one (late-trade amendment) replaced; drawn at the next frame. */
  function onBar(b) {
    const last = bars[bars.length - 1];
    if (last === undefined || b.openTime > last.openTime) {
      bars.push(b);
      if (bars.length > BARS) bars.shift();
    } else if (b.openTime === last.openTime) {
      bars[bars.length - 1] = b;
    } else {
      const i = bars.findIndex((x) => x.openTime === b.openTime);
      if (i >= 0) bars[i] = b;
      pending.redraw = true; // the chart only updates its newest bar in place
    }
    pending.bars.set(b.openTime, b);
    if (pending.bars.size > PENDING_BARS) pending.redraw = true;
    schedule();
  }

  // ── drawing, once a frame ──────────────────────────────────────────────
  // A busy symbol sends hundreds of trades and bar updates a second: messages only
  // record what changed, and the page is drawn once per animation frame. A hidden
  // tab draws nothing; what waits for it stays bounded (TAPE trades, one quote,
  // PENDING_BARS bars, past which the chart is redrawn whole).
  const PENDING_BARS = 100;
  const pending = { trades: [], quote: null, bars: new Map(), redraw: false };
  let frameAsked = false;

  function schedule() {
    if (frameAsked) return;
    frameAsked = true;
    requestAnimationFrame(draw);
  }

  function clearPending() {
    pending.trades = [];
    pending.quote = null;
    pending.bars.clear();
    pending.redraw = false;
  }

  function draw() {
    frameAsked = false;
    if (pending.redraw) {
      redrawAll();
    } else if (pending.bars.size > 0) {
      for (const b of [...pending.bars.values()].sort((x, y) => x.openTime - y.openTime)) {
        candles.update(toCandle(b));
        volume.update(toVolume(b));
      }
      legend(bars[bars.length - 1]);
      ui.chart.dataset.bars = String(bars.length);
    }
    pending.bars.clear();
    pending.redraw = false;
    if (pending.trades.length > 0) drawTrades(pending.trades);
    if (pending.quote !== null) drawQuote(pending.quote);
    pending.trades = [];
    pending.quote = null;
    portfolioPanel.draw();
    feedPanel.draw();
  }

  function legend(b) {
    if (b === undefined) {
      ui.legend.textContent = pick ? pick.exchange + " · " + pick.symbol + " · " + pick.tf + " · no bars yet" : "–";
      return;
    }
    const t = new Date(b.openTime).toISOString().replace("T", " ").slice(0, 19);
    ui.legend.textContent = pick.exchange + " · " + pick.symbol + " · " + pick.tf + "   " + t + "   O " + b.open + "  H " + b.high +
      "  L " + b.low + "  C " + b.close + "  V " + +b.volume.toFixed(8) + (b.closed ? "" : "  (forming)") + (b.gapped ? "  gapped" : "");
    ui.legend.dataset.close = String(b.close);
    ui.legend.dataset.openTime = String(b.openTime);
  }

  // ── pickers ────────────────────────────────────────────────────────────
  function option(value, label) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }

  function fillPickers() {
    ui.symbol.replaceChildren();
    for (const [exchange, bySymbol] of Object.entries(symbols)) {
      for (const symbol of Object.keys(bySymbol)) ui.symbol.append(option(exchange + "\u0000" + symbol, exchange + " · " + symbol));
    }
    ui.symbol.value = pick.exchange + "\u0000" + pick.symbol;
    ui.timeframe.replaceChildren(...symbols[pick.exchange][pick.symbol].map((tf) => option(tf, tf)));
    ui.timeframe.value = pick.tf;
  }

  /** The pick from the fragment when it names a served series, else the first symbol and its shortest timeframe. */
  function initialPick() {
    const ex = fragment.get("exchange"), sym = fragment.get("symbol"), tf = fragment.get("tf");
    if (ex && sym && symbols[ex] && symbols[ex][sym]) {
      const tfs = symbols[ex][sym];
      return { exchange: ex, symbol: sym, tf: tfs.includes(tf) ? tf : tfs[0] };
    }
    for (const [exchange, bySymbol] of Object.entries(symbols)) {
      for (const [symbol, tfs] of Object.entries(bySymbol)) if (tfs.length > 0) return { exchange, symbol, tf: tfs[0] };
    }
    return null;
  }

  function rememberPick() {
    const f = new URLSearchParams();
    f.set("exchange", pick.exchange);
    f.set("symbol", pick.symbol);
    f.set("tf", pick.tf);
    if (TOKEN) f.set("token", TOKEN);
    history.replaceState(null, "", "#" + f.toString());
  }

  function choose(next) {
    pick = next;
    rememberPick();
    fillPickers();
    bars = [];
    clearPending();
    redrawAll();
    ui.tape.replaceChildren();
    ui.last.textContent = "–";
    ui.bid.textContent = ui.ask.textContent = ui.spread.textContent = "–";
    ui.bookNote.textContent = "";
    subscribePick();
  }

  ui.symbol.addEventListener("change", () => {
    const [exchange, symbol] = ui.symbol.value.split("\u0000");
    const tfs = symbols[exchange][symbol];
    choose({ exchange, symbol, tf: tfs.includes(pick.tf) ? pick.tf : tfs[0] });
  });
  ui.timeframe.addEventListener("change", () => choose({ ...pick, tf: ui.timeframe.value }));

  // ── stream ─────────────────────────────────────────────────────────────
  function send(msg) {
    if (socket !== null && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  }

  function subscribePick() {
    if (!connected || pick === null) return;
    if (channels !== null) {
      send({ op: "unsubscribe", id: nextId++, channels: [channels.trades, channels.bars] });
      if (quotesHeld) send({ op: "unsubscribe", id: nextId++, channels: [channels.quotes] });
    }
    quotesHeld = false;
    const key = pick.exchange + ":" + pick.symbol;
    channels = { trades: "trades:" + key, quotes: "quotes:" + key, bars: "bars:" + key + ":" + pick.tf };
    send({ op: "subscribe", id: nextId++, channels: [channels.trades, channels.bars], snapshot: BARS });
    // Apart: an exchange without quotes refuses the channel, and a refused message is refused whole.
    quotesRequest = nextId++;
    send({ op: "subscribe", id: quotesRequest, channels: [channels.quotes] });
  }

  function connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/stream";
    socket = new WebSocket(url, TOKEN ? ["tickwire.json", "bearer." + TOKEN] : ["tickwire.json"]);
    socket.onopen = () => {
      connected = true;
      retryMs = 500;
      channels = null;
      roomsRequest = nextId++;
      roomsRefused = null;
      const rooms = { op: "subscribe", id: roomsRequest, channels: ["system", "alerts"], since: { alerts: alertsSeq } };
      if (epoch !== null) rooms.epoch = epoch; // another life: the server replays its alerts from the start
      send(rooms);
      subscribePick();
      subscribeAnalytics();
      if (reopened) {
        // Values and switches while disconnected were missed: read them again.
        loadPortfolios();
        loadFeeds();
      }
      reopened = true;
      header();
    };
    socket.onmessage = (e) => onMessage(JSON.parse(e.data));
    socket.onclose = () => {
      connected = false;
      socket = null;
      header();
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  function onMessage(m) {
    switch (m.type) {
      case "snapshot":
        if (channels && m.channel === channels.bars) {
          bars = m.bars.slice(-BARS);
          clearPending();
          redrawAll();
          showRecent();
        }
        break;
      case "bar":
        if (channels && m.channel === channels.bars) onBar(m);
        break;
      case "trade":
        if (channels && m.channel === channels.trades) onTrade(m);
        break;
      case "quote":
        if (channels && m.channel === channels.quotes) onQuote(m);
        break;
      case "system":
        if (m.source === "storage") storageState = m;
        else exchangeStates.set(m.exchange, m);
        renderExchanges();
        header();
        break;
      case "alert":
        alertsSeq = m.seq;
        onAlert(m);
        break;
      case "portfolio":
        portfolioPanel.update(m);
        schedule();
        break;
      case "price":
        feedPanel.price(m);
        schedule();
        break;
      case "source":
        // The same switch comes on `prices:<feed>` and in the `system` room: acted on once.
        if (feedPanel.switched(m)) {
          schedule();
          loadFeeds(); // the sources' health changed with the switch
        }
        break;
      case "gap":
        // Bars skipped: take a fresh snapshot rather than show a hole.
        if (channels && m.channel === channels.bars) subscribePick();
        // A portfolio's values skipped: its current one from HTTP.
        if (m.channel.startsWith("portfolio:")) loadPortfolios();
        break;
      case "subscribed":
        if (m.id === quotesRequest) quotesHeld = true;
        if (m.id === feedsRequest) ui.feedsProblem.textContent = "";
        if (m.id === portfoliosRequest) ui.portfoliosProblem.textContent = "";
        if (m.id === roomsRequest) {
          if (epoch !== null && m.epoch !== epoch) alertsSeq = 0;
          epoch = m.epoch;
        }
        break;
      case "error":
        if (m.id === quotesRequest) {
          ui.bookNote.textContent = m.code === "UNAUTHORIZED" ? "quotes: " + m.message : "no quotes from this exchange";
        } else if (m.id === feedsRequest) {
          ui.feedsProblem.textContent = "live prices refused (" + m.code + "): " + m.message + "; the sources are read every 5 s";
        } else if (m.id === portfoliosRequest) {
          ui.portfoliosProblem.textContent = "live values refused (" + m.code + "): " + m.message + "; shown as of the page's load";
        } else if (m.id === roomsRequest) {
          roomsRefused = m.message;
          ui.notice.textContent = "exchange states and alerts unavailable (" + m.code + "): " + m.message;
          header();
        } else {
          ui.notice.textContent = m.code + ": " + m.message;
        }
        break;
    }
  }

  function onTrade(t) {
    pending.trades.push(t);
    if (pending.trades.length > TAPE) pending.trades.shift();
    schedule();
  }

  function onQuote(q) {
    pending.quote = q;
    schedule();
  }

  const sideOf = (t) => (t.side === "buy" ? "buy" : t.side === "sell" ? "sell" : "");

  /** Trades (oldest first) onto the top of the tape; the last one is the last price. */
  function drawTrades(trades) {
    const rows = document.createDocumentFragment();
    for (let i = trades.length - 1; i >= 0; i--) {
      const t = trades[i];
      const row = document.createElement("tr");
      row.append(cell(new Date(t.ts).toISOString().slice(11, 23)), cell(t.price, sideOf(t)), cell(t.size));
      rows.append(row);
    }
    ui.tape.prepend(rows);
    while (ui.tape.rows.length > TAPE) ui.tape.deleteRow(-1);
    const last = trades[trades.length - 1];
    ui.last.textContent = last.price;
    ui.last.className = "last " + sideOf(last);
  }

  function drawQuote(q) {
    priceAndSize(ui.bid, q.bidPrice, q.bidSize);
    priceAndSize(ui.ask, q.askPrice, q.askSize);
    const spread = q.askPrice - q.bidPrice;
    const mid = (q.askPrice + q.bidPrice) / 2;
    const bp = document.createElement("small");
    bp.textContent = mid > 0 ? " " + ((spread / mid) * 1e4).toPrecision(3) + " bp" : "";
    ui.spread.replaceChildren(String(+spread.toFixed(10)), bp);
  }

  /** "price × size", the size on a line of its own (CSS). */
  function priceAndSize(el, price, size) {
    const small = document.createElement("small");
    small.textContent = " × " + size;
    el.replaceChildren(String(price), small);
  }

  function onAlert(a) {
    if (ui.alerts.firstElementChild && ui.alerts.firstElementChild.classList.contains("muted")) ui.alerts.replaceChildren();
    const li = document.createElement("li");
    li.className = a.level;
    li.textContent = new Date(a.ts).toISOString().slice(11, 19) + " " + a.level + " · " + a.source + ": " + a.message;
    ui.alerts.prepend(li);
    while (ui.alerts.children.length > ALERTS) ui.alerts.lastElementChild.remove();
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (cls) td.className = cls;
    return td;
  }

  // ── exchanges and the header ───────────────────────────────────────────
  function renderExchanges() {
    const rows = [];
    for (const s of exchangeStates.values()) {
      const row = document.createElement("tr");
      row.dataset.exchange = s.exchange;
      row.dataset.state = s.state;
      row.append(cell(s.exchange), cell(s.state === "connected" ? "up" : "down · " + s.state, s.state === "connected" ? "up" : "down"),
        cell(s.reconnects), cell(s.lastError || ""));
      rows.push(row);
    }
    if (storageState !== null) {
      const row = document.createElement("tr");
      row.append(cell("storage"), cell(storageState.state, storageState.state === "ok" ? "up" : "down"), cell(""), cell(storageState.reason || ""));
      rows.push(row);
    }
    ui.exchanges.replaceChildren(...rows);
  }

  /** "live" only with the stream open and at least one exchange connected; the rest says which is not. */
  function header() {
    let state, text;
    const states = [...exchangeStates.values()];
    const up = states.filter((s) => s.state === "connected").length;
    if (!connected) {
      state = "down";
      text = "stream disconnected, retrying…";
    } else if (roomsRefused !== null) {
      state = "degraded";
      text = "stream open · exchange states unavailable";
    } else if (states.length === 0) {
      state = "connecting";
      text = "waiting for exchange state…";
    } else if (up === 0) {
      state = "down";
      text = "no exchange connected";
    } else if (up < states.length) {
      state = "degraded";
      text = "live · " + (states.length - up) + " of " + states.length + " exchanges down";
    } else {
      state = "live";
      text = "live";
    }
    ui.conn.dataset.state = state;
    ui.conn.textContent = text;
  }

  // ── portfolios and feeds ───────────────────────────────────────────────
  /** Subscribe the `prices:` and `portfolio:` channels once per connection, each apart (a refusal is the whole message's). */
  function subscribeAnalytics() {
    if (!connected) return;
    if (feedNames.length > 0 && feedsOn !== socket) {
      feedsOn = socket;
      feedsRequest = nextId++;
      send({ op: "subscribe", id: feedsRequest, channels: feedNames.map((f) => "prices:" + f) });
    }
    if (portfolioIds.length > 0 && portfoliosOn !== socket) {
      portfoliosOn = socket;
      portfoliosRequest = nextId++;
      send({ op: "subscribe", id: portfoliosRequest, channels: portfolioIds.map((id) => "portfolio:" + id) });
    }
  }

  /** The reason an HTTP answer gives (`{"error":{"code","message"}}`), else its status. */
  async function refusal(res) {
    try {
      const e = (await res.json()).error;
      return e.code + ": " + e.message;
    } catch {
      return "HTTP " + res.status;
    }
  }

  /** GET `path`, hand its `field` list to `panel`, `keep` the names its channels need; a refusal goes to the panel. */
  async function loadInto(path, field, panel, keep) {
    try {
      const res = await fetch(path, { headers: authHeaders });
      if (!res.ok) throw new Error(await refusal(res));
      const list = (await res.json())[field];
      panel.set(list);
      keep(list);
      subscribeAnalytics();
    } catch (err) {
      panel.note("unavailable: " + err.message);
    }
    schedule();
  }

  /** Portfolios are private: read only with a token (an open server serves none). */
  async function loadPortfolios() {
    if (!TOKEN) {
      portfolioPanel.note("private: open this page as /#token=<token> to see the portfolios");
      return;
    }
    await loadInto("/v1/portfolios", "portfolios", portfolioPanel, (list) => (portfolioIds = list.map((p) => p.id)));
  }

  const loadFeeds = () => loadInto("/v1/feeds", "feeds", feedPanel, (list) => (feedNames = list.map((r) => r.feed)));

  async function pollFeeds() {
    await loadFeeds();
    setTimeout(pollFeeds, FEEDS_EVERY_MS);
  }

  // ── latency ────────────────────────────────────────────────────────────
  const us = (v) => (v >= 1000 ? +(v / 1000).toPrecision(3) + " ms" : Math.round(v) + " µs");
  /** Short names of the measured stages (the full name is the cell's title). */
  const STAGES = { parse: "parse", receive_to_publish: "recv → publish", event_loop_delay: "loop delay" };

  async function pollLatency() {
    try {
      const res = await fetch("/v1/latency", { headers: authHeaders });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const report = await res.json();
      const rows = [];
      for (const [stage, byKey] of Object.entries(report)) {
        for (const [key, s] of Object.entries(byKey)) {
          const row = document.createElement("tr");
          const name = cell(STAGES[stage] || stage);
          name.title = stage;
          row.append(name, cell(key), cell(us(s.p50)), cell(us(s.p99)), cell(us(s.p999)), cell(us(s.max)));
          rows.push(row);
        }
      }
      ui.latency.replaceChildren(...rows);
    } catch (err) {
      ui.latency.replaceChildren();
      const row = document.createElement("tr");
      row.append(cell("unavailable: " + err.message));
      ui.latency.append(row);
    }
    setTimeout(pollLatency, LATENCY_EVERY_MS);
  }

  // ── start ──────────────────────────────────────────────────────────────
  async function start() {
    const res = await fetch("/v1/symbols", { headers: authHeaders });
    if (res.status === 401) throw new Error("this server needs a token: open " + location.pathname + "#token=<your token>");
    if (!res.ok) throw new Error("/v1/symbols answered HTTP " + res.status);
    symbols = (await res.json()).exchanges;
    pick = initialPick();
    if (pick === null) throw new Error("no symbols are configured");
    fillPickers();
    rememberPick();
    legend(undefined);
    connect();
    pollLatency();
    pollFeeds();
    loadPortfolios();
  }

  start().catch((err) => {
    ui.notice.textContent = "failed: " + err.message;
    ui.conn.dataset.state = "down";
    ui.conn.textContent = "not started";
  });
})();
