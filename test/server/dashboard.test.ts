/**
 * The dashboard (`/`) in a real browser: Debian's chromium driven by
 * playwright-core over a real server (fake library, real HTTP and stream).
 * Candles render (pixels of the candle colour on the chart's canvases) and
 * update from the stream, picking a symbol or timeframe changes the chart,
 * trades, top of book, alerts and latency show, a stopped exchange shows as
 * down and the header stops saying "live" once no exchange is connected; the
 * layout fits a phone without sideways scrolling, and /docs renders the
 * reference. Over a real gateway (fake Binance and Coinbase on loopback, a
 * two-source feed, a portfolio): the portfolio's value shown is the server's
 * and follows the prices live, and killing the feed's primary shows the
 * switch to the secondary. Screenshots (laptop, phone, portfolios and feeds,
 * /docs) go to test-output/screenshots/ (gitignored) and their paths are
 * printed.
 *
 * Needs /usr/bin/chromium (`.ci/run` installs it; TOOLCHAIN.md has the flags).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { PortfolioEvent } from '../../src/model/events.ts';
import { hashToken } from '../../src/server/auth.ts';
import { createServer } from '../../src/server/server.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { FakeCoinbase } from '../support/fake-coinbase.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { LiveFakeTickwire, startServer, type Running } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const SHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Generous for a loaded 2-core machine; the whole file stays well under a minute when idle. */
const WAIT = { timeout: 15_000 };

let r: Running;
let tw: LiveFakeTickwire;
let profile: string;
let browser: BrowserContext;
let page: Page;
/** Console errors and uncaught exceptions of every page (a refused resource or a CSP violation shows here). */
const pageErrors: string[] = [];

function watch(p: Page): Page {
  p.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${p.url()}: ${m.text()}`);
  });
  p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`));
  return p;
}

// Page-side code is passed as functions (string expressions would need eval, which the pages' CSP refuses);
// this file has no DOM types, so the page's globals are reached through `globalThis`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PageGlobal = any;

/** Pixels of the up-candle colour (#26a69a) over the chart's canvases. */
const upPixels = (p: Page): Promise<number> =>
  p.evaluate(() => {
    const { document } = globalThis as PageGlobal;
    let n = 0;
    for (const canvas of document.querySelectorAll('#chart canvas')) {
      const ctx = canvas.getContext('2d');
      if (ctx === null || canvas.width === 0 || canvas.height === 0) continue;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - 38) < 12 && Math.abs(data[i + 1] - 166) < 12 && Math.abs(data[i + 2] - 154) < 12) n++;
      }
    }
    return n;
  });

/** Wait until the chart holds `n` bars (any when n is 0, some). */
const barsAre = (p: Page, n: number): Promise<unknown> =>
  p.waitForFunction((want) => {
    const have = Number((globalThis as PageGlobal).document.getElementById('chart').dataset.bars);
    return want === 0 ? have > 0 : have === want;
  }, n, WAIT);
/** Wait until the legend shows a bar closing at `close`. */
const closeIs = (p: Page, close: string): Promise<unknown> =>
  p.waitForFunction((want) => (globalThis as PageGlobal).document.getElementById('legend').dataset.close === want, close, WAIT);

beforeAll(async () => {
  tw = new LiveFakeTickwire();
  r = await startServer({}, tw);
  tw.seed('binance', 'BTCUSDT', '1m', 40, T0, 100);
  tw.seed('binance', 'BTCUSDT', '5m', 12, T0, 100);
  tw.seed('binance', 'ETHUSDT', '1m', 40, T0, 3000);
  profile = mkdtempSync(path.join(tmpdir(), 'tickwire-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1366, height: 800 },
  });
  page = watch(browser.pages()[0] ?? (await browser.newPage()));
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await r?.server.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('dashboard in chromium', () => {
  it('renders the first symbol’s candles and updates them from the stream', async () => {
    await page.goto(r.base + '/');
    await barsAre(page, 41);
    await expect.poll(() => upPixels(page), WAIT).toBeGreaterThan(200);
    await expect.poll(() => page.textContent('#conn'), WAIT).toBe('live');
    expect(await page.textContent('#legend')).toContain('binance · BTCUSDT · 1m');

    // A new bar and a trade and a quote, live.
    tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 41 * MIN, MIN, 151.25, false));
    await closeIs(page, '152.25');
    expect(await page.getAttribute('#chart', 'data-bars')).toBe('42');
    tw.trade('binance', 'BTCUSDT', { price: 152.5, size: 0.75, side: 'buy' });
    tw.quote('binance', 'BTCUSDT', { bidPrice: 152.4, bidSize: 3, askPrice: 152.6, askSize: 2 });
    await expect.poll(() => page.textContent('#last'), WAIT).toBe('152.5');
    await expect.poll(() => page.textContent('#tape tbody tr:first-child'), WAIT).toContain('0.75');
    await expect.poll(() => page.textContent('#bid'), WAIT).toBe('152.4 × 3');
    expect(await page.textContent('#spread')).toBe('0.2 13.1 bp');
    r.server.publishAlert({ level: 'critical', source: 'test', message: 'kraken feed silent for 30 s' });
    await expect.poll(() => page.textContent('#alerts'), WAIT).toContain('kraken feed silent for 30 s');
    await expect.poll(() => page.locator('#latency tbody tr').count(), WAIT).toBe(2);
    expect(await page.textContent('#latency tbody')).toContain('recv → publish');
    expect(await page.getAttribute('#latency tbody tr:nth-child(2) td:first-child', 'title')).toBe('receive_to_publish');
  }, 45_000);

  it('changes the chart when a symbol or a timeframe is picked', async () => {
    await page.selectOption('#symbol', { label: 'binance · ETHUSDT' });
    await closeIs(page, '3041');
    expect(await page.textContent('#legend')).toContain('binance · ETHUSDT · 1m');
    expect(page.url()).toContain('symbol=ETHUSDT');
    // Live bars of the old pick no longer move the chart; the new pick's do.
    tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 42 * MIN, MIN, 160, false));
    tw.bar('binance', 'ETHUSDT', '1m', makeBar(T0 + 41 * MIN, MIN, 3100, false));
    await closeIs(page, '3101');

    await page.selectOption('#symbol', { label: 'binance · BTCUSDT' });
    await page.selectOption('#timeframe', '5m');
    await barsAre(page, 13);
    expect(await page.textContent('#legend')).toContain('binance · BTCUSDT · 5m');
    await expect.poll(() => upPixels(page), WAIT).toBeGreaterThan(200);
  }, 30_000);

  it('shows a stopped exchange as down, and no "live" once none is connected', async () => {
    tw.emitStatus('kraken', { state: 'stopped', lastError: 'connection refused' });
    const kraken = page.locator('#exchanges tr[data-exchange="kraken"]');
    await expect.poll(() => kraken.getAttribute('data-state'), WAIT).toBe('stopped');
    expect(await kraken.textContent()).toContain('down · stopped');
    expect(await kraken.textContent()).toContain('connection refused');
    await expect.poll(() => page.textContent('#conn'), WAIT).toBe('live · 1 of 3 exchanges down');
    // The tape and the book refill after the pick (the screenshot shows them).
    for (let i = 0; i < 8; i++) tw.trade('binance', 'BTCUSDT', { price: 113 + i / 4, size: (1 + i) / 10, side: i % 3 === 0 ? 'sell' : 'buy' });
    tw.quote('binance', 'BTCUSDT', { bidPrice: 114.7, bidSize: 1.5, askPrice: 114.8, askSize: 0.4 });
    await expect.poll(() => page.locator('#tape tbody tr').count(), WAIT).toBe(8);
    await expect.poll(() => page.textContent('#ask'), WAIT).toBe('114.8 × 0.4');
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-laptop.png'), fullPage: true });

    tw.emitStatus('binance', { state: 'reconnecting' });
    tw.emitStatus('bybit', { state: 'circuit_open' });
    await expect.poll(() => page.textContent('#conn'), WAIT).toBe('no exchange connected');
    expect(await page.getAttribute('#conn', 'data-state')).toBe('down');
    tw.emitStatus('binance', { state: 'connected' });
    await expect.poll(() => page.textContent('#conn'), WAIT).toBe('live · 2 of 3 exchanges down');
  }, 30_000);

  it('fits a phone: one column, no sideways scrolling', async () => {
    const phone = watch(await browser.newPage());
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(r.base + '/#exchange=binance&symbol=ETHUSDT&tf=1m');
      await barsAre(phone, 0);
      expect(await phone.textContent('#legend')).toContain('ETHUSDT');
      // Raised before this page opened: replayed from the server's resume history.
      await expect.poll(() => phone.textContent('#alerts'), WAIT).toContain('kraken feed silent for 30 s');
      const overflow = await phone.evaluate(() => {
        const g = globalThis as PageGlobal;
        return g.document.documentElement.scrollWidth - g.innerWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);
      const chartWidth: number = await phone.evaluate(() => (globalThis as PageGlobal).document.getElementById('chart').getBoundingClientRect().width);
      expect(chartWidth).toBeGreaterThan(300);
      await expect.poll(() => upPixels(phone), WAIT).toBeGreaterThan(100);
      await phone.screenshot({ path: path.join(SHOTS, 'dashboard-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  }, 30_000);

  it('behind auth: works opened as /#token=<token>, and says a token is needed without one', async () => {
    const TOKEN = 'dashboard-test-token-0123456789abcdef';
    const guarded = await startServer({ auth: { tokens: [{ name: 'trader', sha256: hashToken(TOKEN), channels: ['*'] }], jwt: undefined, allowOpen: false, httpRate: null } });
    guarded.tw.seed('binance', 'BTCUSDT', '1m', 5, T0, 100);
    const p = watch(await browser.newPage());
    try {
      await p.goto(guarded.base + '/');
      await expect.poll(() => p.textContent('#notice'), WAIT).toContain('this server needs a token');
      expect(await p.textContent('#conn')).toBe('not started');
      pageErrors.length = 0; // the refused /v1/symbols (401) is logged by the browser, as it should be

      await p.goto(guarded.base + '/#token=' + TOKEN);
      await p.reload(); // a fragment change alone does not reload the page
      await barsAre(p, 6);
      await expect.poll(() => p.textContent('#conn'), WAIT).toBe('live');
      await expect.poll(() => p.locator('#latency tbody tr').count(), WAIT).toBe(2);
      expect(p.url()).toContain('token=' + TOKEN); // kept in the fragment with the pick
    } finally {
      await p.close();
      await guarded.server.close();
    }
  }, 30_000);

  it('shows a portfolio’s live value as the server gives it, and a feed’s switch when its primary dies', async () => {
    const TOKEN = 'dashboard-analyzer-token-0123456789abcdef';
    const VIEWER = 'dashboard-viewer-token-0123456789abcdef'; // market data and feeds, no portfolio channel
    const binance = new BinanceProtocolServer({ pingIntervalMs: 1_000 });
    await binance.start();
    const coinbase = await new FakeCoinbase().start();
    const gateway = createTickwire(
      {
        timeframes: ['1m'],
        exchanges: { binance: { url: binance.url, symbols: ['BTCUSDT', 'ETHUSDT'] }, coinbase: { url: coinbase.url, symbols: ['BTC-USD'] } },
        feeds: { 'BTC-USD': { sources: ['binance:BTCUSDT', 'coinbase:BTC-USD'], staleMs: 1_000, switchBackMs: 1_000 } },
        // ETH is priced by Binance alone (ETHUSDT × the peg): stale within staleMs of Binance's death.
        portfolios: { main: { quote: 'USD', holdings: { BTC: 0.5, ETH: 2, USD: 2500 }, pegs: { USDT: 'USD' }, staleMs: 1_000 } },
        auth: {
          tokens: [
            { name: 'analyzer', sha256: hashToken(TOKEN) },
            { name: 'viewer', sha256: hashToken(VIEWER), channels: ['bars:*:*:*', 'trades:*:*', 'quotes:*:*', 'prices:*', 'system', 'alerts'] },
          ],
        },
      },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 100, backoffMaxMs: 300 } },
    );
    const server = createServer(gateway, { host: '127.0.0.1', port: 0 });
    let pump: NodeJS.Timeout | undefined;
    const p = watch(await browser.newPage());
    try {
      await gateway.start();
      const base = `http://127.0.0.1:${(await server.listen()).port}`;
      await until(() => binance.hasSubscribers('btcusdt@trade') && binance.hasSubscribers('ethusdt@trade') && coinbase.subscribers('matches', 'BTC-USD') === 1, 20_000, 'both venues subscribed');
      // Binance trades BTC at 50 000 and ETH at 3000, Coinbase BTC at 50 050 (10 bps apart: both trusted), every 50 ms.
      // Coinbase waits until Binance serves the feed: the first healthy trade starts a feed, and the portfolio's change
      // is measured from its first full valuation, which must be Binance's 33 500 (not Coinbase's 33 525) for the figures below.
      let id = 0;
      let primaryServed = false;
      pump = setInterval(() => {
        const now = Date.now();
        id++;
        binance.publish('btcusdt@trade', { e: 'trade', E: now, s: 'BTCUSDT', t: id, p: '50000.00', q: '0.01', T: now, m: false, M: true });
        binance.publish('ethusdt@trade', { e: 'trade', E: now, s: 'ETHUSDT', t: id, p: '3000.00', q: '0.1', T: now, m: false, M: true });
        primaryServed ||= gateway.feed('BTC-USD').active === 'binance:BTCUSDT';
        if (!primaryServed) return;
        coinbase.publish(JSON.stringify({
          type: 'match', trade_id: id, maker_order_id: 'm', taker_order_id: 't', side: 'sell', size: '0.01', price: '50050.00',
          product_id: 'BTC-USD', sequence: id, time: new Date(now).toISOString(),
        }));
      }, 50);
      await until(() => gateway.feed('BTC-USD').active === 'binance:BTCUSDT', 30_000, 'the primary serving the feed');

      await p.goto(base + '/#token=' + TOKEN);
      const feed = p.locator('#feeds [data-feed="BTC-USD"]');
      const value = p.locator('#portfolios [data-id="main"] .value');
      const serverValue = async (): Promise<number> =>
        ((await (await fetch(base + '/v1/portfolios/main', { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as PortfolioEvent).value;
      /** The value shown and the server's, once they agree (the shown one is the last published: the server's may move after it). */
      const agreed = async (): Promise<number> => {
        let shown = NaN;
        await expect.poll(async () => {
          shown = Number(await value.getAttribute('data-value'));
          return shown === (await serverValue());
        }, WAIT).toBe(true);
        return shown;
      };

      await expect.poll(() => feed.getAttribute('data-active'), WAIT).toBe('binance:BTCUSDT');
      await expect.poll(() => feed.locator('.sources li[data-healthy="true"]').count(), WAIT).toBe(2);
      // By hand: 0.5 BTC at the feed's price from Binance, 50 000, + 2 ETH at 3000 + 2500 USD.
      expect(await agreed()).toBe(33_500);
      expect(await value.textContent()).toBe('33,500.00 USD');
      const holding = (asset: string) => p.locator(`#portfolios [data-id="main"] tr[data-asset="${asset}"]`);
      expect(await holding('BTC').textContent()).toContain('feed:BTC-USD');
      expect(await holding('ETH').textContent()).toContain('binance:ETHUSDT*peg:USDT=USD');
      expect(await holding('ETH').getAttribute('data-stale')).toBe('false');

      // Kill the primary: the feed switches to Coinbase, the page says so, and the value follows the new price live.
      await binance.stop();
      await expect.poll(() => feed.getAttribute('data-active'), { timeout: 30_000 }).toBe('coinbase:BTC-USD');
      expect(await feed.locator('.switch').getAttribute('data-to')).toBe('coinbase:BTC-USD');
      expect(await feed.locator('.switch').textContent()).toMatch(/switched binance:BTCUSDT → coinbase:BTC-USD \((disconnected|stale)\)/);
      await expect.poll(() => feed.locator('.sources li[data-source="binance:BTCUSDT"]').getAttribute('data-healthy'), WAIT).toBe('false');
      await expect.poll(() => value.getAttribute('data-value'), WAIT).toBe('33525');
      expect(await agreed()).toBe(33_525); // 0.5 × 50 050 + 2 × 3000 (its last price still counts) + 2500
      expect(await value.textContent()).toBe('33,525.00 USD');
      expect(await p.textContent('#portfolios [data-id="main"] .change')).toBe('+25.00 (+0.07%)');
      // ETH's only venue is dead: marked stale.
      await expect.poll(() => holding('ETH').getAttribute('data-stale'), WAIT).toBe('true');
      expect(await holding('ETH').textContent()).toContain('stale');
      expect(await p.textContent('#portfolios [data-id="main"] .warn')).toContain('stale: ETH');
      expect(await holding('BTC').getAttribute('data-stale')).toBe('false');
      await p.screenshot({ path: path.join(SHOTS, 'dashboard-portfolios.png'), fullPage: true });

      // A token that may not read portfolio:main: the panel says the live values are refused, the feeds still show.
      await p.goto(base + '/#token=' + VIEWER);
      await p.reload();
      await expect.poll(() => p.textContent('#portfolios-problem'), WAIT).toMatch(/^live values refused \(UNAUTHORIZED\)/);
      expect(Number(await value.getAttribute('data-value'))).toBe(await serverValue()); // as read at load
      await expect.poll(() => feed.getAttribute('data-active'), WAIT).toBe('coinbase:BTC-USD');
      expect(await p.textContent('#feeds-problem')).toBe('');
    } finally {
      clearInterval(pump);
      await p.close();
      await server.close();
      await gateway.stop();
      await binance.stop();
      await coinbase.close();
    }
  }, 120_000);

  it('/docs renders the API reference from the server’s own assets', async () => {
    const docs = watch(await browser.newPage());
    const external: string[] = [];
    docs.on('request', (req) => {
      if (!req.url().startsWith(r.base)) external.push(req.url());
    });
    try {
      await docs.goto(r.base + '/docs');
      // swagger-ui's bundle is 1.7 MB of script: give it longer on a loaded machine.
      await docs.waitForSelector('.opblock', { timeout: 30_000 });
      expect(await docs.locator('.opblock').count()).toBeGreaterThan(10);
      expect(await docs.textContent('body')).toContain('/v1/candles/{exchange}/{symbol}/{tf}');
      await docs.screenshot({ path: path.join(SHOTS, 'docs.png') });
      expect(external).toEqual([]);
    } finally {
      await docs.close();
    }
    for (const name of ['dashboard-laptop.png', 'dashboard-phone.png', 'dashboard-portfolios.png', 'docs.png']) console.log(`screenshot: ${path.join(SHOTS, name)}`);
    expect(pageErrors).toEqual([]);
  }, 45_000);
});
