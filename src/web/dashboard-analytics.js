// The dashboard's portfolio and price-feed panels (docs/dashboard.md): what each
// portfolio is worth now and in what, and which venue each feed's price comes
// from. They keep what the stream and the HTTP answers tell them (`portfolio`,
// `price` and `source` messages; GET /v1/portfolios and /v1/feeds) and draw it
// when asked, once a frame: dashboard.js owns the connection and the frame.
// Memory is bounded by the server's config (at most 100 portfolios of 1000
// holdings; feeds of at most 16 sources).
"use strict";
window.TickwireAnalytics = (() => {
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  /** An amount of the quote asset: cents for 1 and more, six significant digits below. */
  const money = (v) => (v === null ? "–" : Math.abs(v) >= 1 ? v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : String(+v.toPrecision(6)));
  const signed = (v, text) => (v > 0 ? "+" : v < 0 ? "−" : "") + text;
  const percent = (f) => (f === null ? "–" : (f * 100).toFixed(1) + "%");
  const clock = (ts) => new Date(ts).toISOString().slice(11, 19);
  const direction = (v) => (v > 0 ? "up" : v < 0 ? "down" : "");

  /** A card per key under `root`, in the order first seen; `note` replaces them all with one line. */
  function cards(root, keyAttr) {
    const byKey = new Map();
    return {
      byKey,
      card(key) {
        let card = byKey.get(key);
        if (card === undefined) {
          if (byKey.size === 0) root.replaceChildren();
          card = el("article", "card");
          card.dataset[keyAttr] = key;
          byKey.set(key, card);
          root.append(card);
        }
        return card;
      },
      note(text) {
        byKey.clear();
        root.replaceChildren(el("p", "muted", text));
      },
    };
  }

  /** A price path (`binance:SOLUSDT*peg:USDT=USD`), breakable after each `*` in a narrow panel. */
  function pathCell(path) {
    const td = el("td", "source");
    path.split("*").forEach((step, i) => {
      if (i > 0) td.append("*", document.createElement("wbr"));
      td.append(step);
    });
    return td;
  }

  // ── portfolios ─────────────────────────────────────────────────────────
  /** Portfolios: value in the quote asset, change, and each holding with its price, weight and price source; stale assets marked. */
  function portfolios(root) {
    const shown = cards(root, "id");
    const latest = new Map(); // id → the newest valuation (by ts)
    const dirty = new Set();

    function update(p) {
      const had = latest.get(p.id);
      if (had !== undefined && had.ts > p.ts) return; // an HTTP answer older than a live message
      latest.set(p.id, p);
      dirty.add(p.id);
    }

    function drawOne(p) {
      const card = shown.card(p.id);
      const head = el("div", "card-head");
      const value = el("span", "value", money(p.value) + " " + p.quote);
      value.dataset.value = String(p.value);
      const change = el("span", "change " + direction(p.change.abs), signed(p.change.abs, money(Math.abs(p.change.abs))) + " (" + signed(p.change.pct, Math.abs(p.change.pct).toFixed(2)) + "%)");
      change.title = "since " + new Date(p.change.since).toISOString();
      head.append(el("b", "name", p.id), value, change);
      const stale = new Set(p.stale);
      const rows = p.holdings.map((h) => {
        const row = el("tr", stale.has(h.asset) ? "stale" : "");
        row.dataset.asset = h.asset;
        row.dataset.stale = String(stale.has(h.asset));
        const asset = el("td", "", h.asset);
        if (stale.has(h.asset)) asset.append(el("small", "tag", "stale"));
        row.append(asset, el("td", "", h.amount), el("td", "", h.price === null ? "–" : h.price), el("td", "", money(h.value)), el("td", "", percent(h.weight)), pathCell(h.source));
        return row;
      });
      const table = el("table", "holdings");
      const header = el("tr");
      for (const name of ["Asset", "Amount", "Price", "Value", "Weight", "Source"]) header.append(el("th", "", name));
      table.createTHead().append(header);
      table.createTBody().append(...rows);
      const scroll = el("div", "scroll");
      scroll.append(table);
      const foot = el("p", "muted", "change since " + clock(p.change.since) + " UTC · valued " + clock(p.ts) + " UTC");
      const parts = [head, scroll, foot];
      if (p.stale.length > 0) parts.push(el("p", "warn", "stale: " + p.stale.join(", ") + " (no fresh price; the last one counts)"));
      card.replaceChildren(...parts);
    }

    return {
      /** Every portfolio from GET /v1/portfolios (none: says so). */
      set(list) {
        if (list.length === 0) shown.note("none configured");
        for (const p of list) update(p);
      },
      update,
      note: shown.note,
      draw() {
        for (const id of dirty) drawOne(latest.get(id));
        dirty.clear();
      },
    };
  }

  // ── price feeds ────────────────────────────────────────────────────────
  /** Feeds: last price, the active source, each source's health and price, and the last switch. */
  function feeds(root) {
    const shown = cards(root, "feed");
    const state = new Map(); // feed → { report (GET /v1/feeds), price, active, lastSwitch }
    const dirty = new Set();

    function entry(feed) {
      let s = state.get(feed);
      if (s === undefined) state.set(feed, (s = { report: null, price: null, active: null, lastSwitch: null }));
      return s;
    }

    function drawOne(feed, s) {
      const card = shown.card(feed);
      card.dataset.active = s.active === null ? "" : s.active;
      const head = el("div", "card-head");
      head.append(el("b", "name", feed), el("span", "value", s.price === null ? "–" : s.price));
      const day = s.report && s.report.day;
      if (day && day.changePct !== null && day.changePct !== undefined) {
        const d = el("span", "change " + direction(day.changePct), "24 h " + signed(day.changePct, Math.abs(day.changePct).toFixed(2) + "%"));
        d.title = "from " + day.bars + " 1m bars of " + s.report.daySource;
        head.append(d);
      }
      const active = el("p", "active");
      if (s.active === null) active.append(el("span", "down", "no healthy source: no price"));
      else active.append("active ", el("b", "", s.active));
      const list = el("ul", "sources");
      for (const src of (s.report && s.report.sources) || []) {
        const ok = src.healthy;
        const li = el("li", ok ? "healthy" : "unhealthy");
        li.dataset.source = src.source;
        li.dataset.healthy = String(ok);
        const why = ok ? "healthy" : src.connected ? "unhealthy" : "disconnected";
        const age = src.ageMs === null || src.ageMs === undefined ? "" : " · " + (src.ageMs / 1000).toFixed(1) + " s ago";
        li.append(el(src.source === s.active ? "b" : "span", "", src.source), " " + why + " · " + (src.price === null ? "–" : src.price) + age);
        list.append(li);
      }
      const parts = [head, active, list];
      if (s.lastSwitch !== null) {
        const w = s.lastSwitch;
        const line = el("p", "switch", clock(w.ts) + " UTC switched " + (w.from || "none") + " → " + (w.to || "none") + " (" + w.reason + ")");
        line.dataset.to = w.to === null ? "" : w.to;
        parts.push(line);
      }
      card.replaceChildren(...parts);
    }

    return {
      /** Reports of GET /v1/feeds: health of every source, 24-hour figures (none: says so). */
      set(reports) {
        if (reports.length === 0) shown.note("none configured");
        for (const r of reports) {
          const s = entry(r.feed);
          s.report = r;
          s.active = r.active;
          if (r.price !== null) s.price = r.price;
          dirty.add(r.feed);
        }
      },
      /** A `price` message: the active source's price. */
      price(m) {
        const s = entry(m.feed);
        s.price = m.price;
        s.active = m.source;
        dirty.add(m.feed);
      },
      /** A `source` message (from `prices:<feed>` or the `system` room); false when this switch was already shown. */
      switched(m) {
        const s = entry(m.feed);
        if (s.lastSwitch !== null && s.lastSwitch.ts === m.ts && s.lastSwitch.to === m.to) return false;
        s.lastSwitch = m;
        s.active = m.to;
        dirty.add(m.feed);
        return true;
      },
      note: shown.note,
      draw() {
        for (const feed of dirty) drawOne(feed, state.get(feed));
        dirty.clear();
      },
    };
  }

  return { portfolios, feeds };
})();
