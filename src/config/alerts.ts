/**
 * The `alerts:` section: rules evaluated in the main thread, raised on the
 * `alerts` room, optionally POSTed to a webhook (docs/feeds-portfolios-alerts.md).
 *
 * ```yaml
 * alerts:
 *   webhook: { url: https://hooks.example.com/tickwire, retries: 5 }
 *   rules:
 *     - { id: btc-100k, type: price, feed: BTC-USD, above: 100000, level: warning }
 *     - { id: btc-move, type: change, exchange: binance, symbol: BTCUSDT, pct: 5, windowMs: 3600000 }
 *     - { id: btc-volume, type: volume, exchange: binance, symbol: BTCUSDT, timeframe: 1m, factor: 3, bars: 20 }
 *     - { id: btc-spread, type: spread, exchange: binance, symbol: BTCUSDT, bps: 20, forMs: 10000 }
 *     - { id: feed-stale, type: stale, feed: BTC-USD, forMs: 10000 }
 *     - { id: main-drop, type: portfolio, portfolio: main, pct: 3, windowMs: 3600000 }
 *     - { id: btc-source, type: source, feed: BTC-USD }
 * ```
 *
 * Every rule names a feed, a portfolio, or an exchange (and symbol) that the
 * config has; a bad rule is a config error at its key path.
 */
import type { Checker } from '../check/checker.ts';
import { isMap } from '../check/paths.ts';
import { parseTimeframe, isTimeframe } from '../model/timeframes.ts';
import { SymbolIndex } from '../model/symbols.ts';
import type { AlertRuleConfig, AlertsConfig, AlertTarget, ExchangeConfig, WebhookConfig } from './types.ts';

export const MAX_RULES = 10_000;
const TYPES = ['price', 'change', 'volume', 'spread', 'stale', 'portfolio', 'source'] as const;
const LEVELS = ['info', 'warning', 'critical'] as const;
const COMMON = ['id', 'type', 'level', 'cooldownMs'];
const KEYS: Record<(typeof TYPES)[number], readonly string[]> = {
  price: [...COMMON, 'feed', 'exchange', 'symbol', 'above', 'below', 'hysteresisPct'],
  change: [...COMMON, 'feed', 'exchange', 'symbol', 'pct', 'windowMs'],
  volume: [...COMMON, 'exchange', 'symbol', 'timeframe', 'factor', 'bars'],
  spread: [...COMMON, 'exchange', 'symbol', 'bps', 'forMs'],
  stale: [...COMMON, 'feed', 'exchange', 'forMs'],
  portfolio: [...COMMON, 'portfolio', 'pct', 'windowMs'],
  source: [...COMMON, 'feed'],
};
const WEBHOOK_KEYS = ['url', 'retries', 'backoffMs', 'timeoutMs', 'maxQueue'] as const;
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** What the rules may name. */
export interface AlertScope {
  exchanges: Readonly<Record<string, ExchangeConfig>>;
  feeds: readonly string[];
  portfolios: readonly string[];
  timeframes: readonly string[];
}

/** Check `alerts:` (`{ rules: [], webhook: undefined }` when absent). */
export function alertsSection(c: Checker, value: unknown, scope: AlertScope): AlertsConfig {
  const s = c.section(value, 'alerts', ['rules', 'webhook']);
  const rules: AlertRuleConfig[] = [];
  if (s.rules !== undefined && s.rules !== null) {
    if (!Array.isArray(s.rules) || s.rules.length > MAX_RULES) {
      c.fail('alerts.rules', s.rules, `a list of at most ${MAX_RULES} rules`);
    } else {
      const ids = new Set<string>();
      s.rules.forEach((r: unknown, i: number) => {
        const rule = ruleOf(c, r, `alerts.rules[${i}]`, scope);
        if (rule === undefined) return;
        if (ids.has(rule.id)) c.fail(`alerts.rules[${i}].id`, rule.id, 'an id no other rule has');
        ids.add(rule.id);
        rules.push(rule);
      });
    }
  }
  return { rules, webhook: s.webhook === undefined || s.webhook === null ? undefined : webhookOf(c, s.webhook) };
}

function webhookOf(c: Checker, value: unknown): WebhookConfig | undefined {
  const w = c.section(value, 'alerts.webhook', WEBHOOK_KEYS);
  const url = c.url(w.url, 'alerts.webhook.url', ['http:', 'https:'], 'an http or https URL');
  if (url === undefined) {
    if (w.url === undefined) c.fail('alerts.webhook.url', undefined, 'an http or https URL');
    return undefined;
  }
  const int = (v: unknown, key: string, fallback: number, lo: number, hi: number) =>
    c.number(v, `alerts.webhook.${key}`, fallback, (n) => Number.isInteger(n) && n >= lo && n <= hi, `an integer from ${lo} to ${hi}`);
  return {
    url,
    retries: int(w.retries, 'retries', 5, 0, 20),
    backoffMs: int(w.backoffMs, 'backoffMs', 1000, 10, 600_000),
    timeoutMs: int(w.timeoutMs, 'timeoutMs', 5000, 100, 120_000),
    maxQueue: int(w.maxQueue, 'maxQueue', 1000, 1, 100_000),
  };
}

function ruleOf(c: Checker, value: unknown, path: string, scope: AlertScope): AlertRuleConfig | undefined {
  if (!isMap(value)) {
    c.fail(path, value, `a rule { id, type (${TYPES.join(', ')}), level, cooldownMs, ... }`);
    return undefined;
  }
  const type = value.type;
  if (!(TYPES as readonly unknown[]).includes(type)) {
    c.fail(`${path}.type`, type, `one of ${TYPES.join(', ')}`);
    return undefined;
  }
  const t = type as (typeof TYPES)[number];
  c.unknownKeys(value, path, KEYS[t]);
  const before = c.issues.length;
  const id = value.id;
  if (typeof id !== 'string' || !RULE_ID.test(id)) c.fail(`${path}.id`, id, 'an id of letters, digits, _ . - (at most 64)');
  const common = {
    id: id as string,
    level: c.oneOf(value.level, `${path}.level`, LEVELS, 'warning'),
    cooldownMs: c.number(value.cooldownMs, `${path}.cooldownMs`, 60_000, (n) => Number.isInteger(n) && n >= 0 && n <= 7 * 86_400_000, 'an integer number of ms from 0 to 604800000'),
  };
  const positive = (key: string, max: number) =>
    c.number(value[key], `${path}.${key}`, NaN, (n) => n > 0 && n <= max, `a number above 0, at most ${max}`);
  const ms = (key: string, fallback: number) =>
    c.number(value[key], `${path}.${key}`, fallback, (n) => Number.isInteger(n) && n >= 1 && n <= 7 * 86_400_000, 'an integer number of ms from 1 to 604800000');
  const required = (key: string) => {
    if (value[key] === undefined || value[key] === null) c.fail(`${path}.${key}`, undefined, 'a value (required for this rule type)');
  };
  let rule: AlertRuleConfig | undefined;
  switch (t) {
    case 'price': {
      const target = targetOf(c, value, path, scope);
      const above = value.above === undefined ? undefined : positive('above', Number.MAX_VALUE);
      const below = value.below === undefined ? undefined : positive('below', Number.MAX_VALUE);
      if ((above === undefined) === (below === undefined)) c.fail(path, value, 'exactly one of above or below');
      const hysteresisPct = c.number(value.hysteresisPct, `${path}.hysteresisPct`, 0, (n) => n >= 0 && n < 100, 'a percent from 0 to below 100');
      if (target !== undefined) rule = { ...common, type: t, target, above, below, hysteresisPct };
      break;
    }
    case 'change': {
      required('pct');
      const target = targetOf(c, value, path, scope);
      const pct = positive('pct', 1000);
      const windowMs = ms('windowMs', 3_600_000);
      if (target !== undefined) rule = { ...common, type: t, target, pct, windowMs };
      break;
    }
    case 'volume': {
      const m = marketOf(c, value, path, scope);
      const tf = value.timeframe ?? '1m';
      if (typeof tf !== 'string' || !isTimeframe(tf) || !scope.timeframes.includes(parseTimeframe(tf).name)) {
        c.fail(`${path}.timeframe`, tf, `a kept timeframe (${scope.timeframes.join(' ')})`);
      }
      const factor = c.number(value.factor, `${path}.factor`, 3, (n) => n > 0 && n <= 1e6, 'a number above 0');
      const bars = c.number(value.bars, `${path}.bars`, 20, (n) => Number.isInteger(n) && n >= 1 && n <= 10_000, 'an integer from 1 to 10000');
      if (m !== undefined && typeof tf === 'string' && isTimeframe(tf)) rule = { ...common, type: t, ...m, timeframe: parseTimeframe(tf).name, factor, bars };
      break;
    }
    case 'spread': {
      required('bps');
      const m = marketOf(c, value, path, scope);
      const bps = positive('bps', 100_000);
      const forMs = c.number(value.forMs, `${path}.forMs`, 0, (n) => Number.isInteger(n) && n >= 0 && n <= 86_400_000, 'an integer number of ms from 0 to 86400000');
      if (m !== undefined) rule = { ...common, type: t, ...m, bps, forMs };
      break;
    }
    case 'stale': {
      const forMs = ms('forMs', 10_000);
      if (typeof value.feed === 'string' && value.exchange === undefined) {
        if (scope.feeds.includes(value.feed)) rule = { ...common, type: t, target: { feed: value.feed }, forMs };
        else c.fail(`${path}.feed`, value.feed, `a configured feed (${scope.feeds.join(', ') || 'none'})`);
      } else if (typeof value.exchange === 'string' && value.feed === undefined) {
        if (scope.exchanges[value.exchange] !== undefined) rule = { ...common, type: t, target: { exchange: value.exchange }, forMs };
        else c.fail(`${path}.exchange`, value.exchange, 'a configured exchange');
      } else {
        c.fail(path, value, 'exactly one of feed or exchange');
      }
      break;
    }
    case 'portfolio': {
      required('pct');
      const pct = positive('pct', 1000);
      const windowMs = ms('windowMs', 3_600_000);
      if (typeof value.portfolio === 'string' && scope.portfolios.includes(value.portfolio)) rule = { ...common, type: t, portfolio: value.portfolio, pct, windowMs };
      else c.fail(`${path}.portfolio`, value.portfolio, `a configured portfolio (${scope.portfolios.join(', ') || 'none'})`);
      break;
    }
    case 'source': {
      if (typeof value.feed === 'string' && scope.feeds.includes(value.feed)) rule = { ...common, type: t, feed: value.feed };
      else c.fail(`${path}.feed`, value.feed, `a configured feed (${scope.feeds.join(', ') || 'none'})`);
      break;
    }
  }
  return c.issues.length === before ? rule : undefined;
}

/** `feed:` or `exchange:` + `symbol:` (native or normalized; stored native). */
function targetOf(c: Checker, value: Record<string, unknown>, path: string, scope: AlertScope): AlertTarget | undefined {
  if (value.feed !== undefined) {
    if (value.exchange !== undefined || value.symbol !== undefined) {
      c.fail(path, value, 'either feed, or exchange and symbol');
      return undefined;
    }
    if (typeof value.feed === 'string' && scope.feeds.includes(value.feed)) return { feed: value.feed };
    c.fail(`${path}.feed`, value.feed, `a configured feed (${scope.feeds.join(', ') || 'none'})`);
    return undefined;
  }
  return marketOf(c, value, path, scope);
}

function marketOf(c: Checker, value: Record<string, unknown>, path: string, scope: AlertScope): { exchange: string; symbol: string } | undefined {
  const ex = value.exchange;
  const cfg = typeof ex === 'string' ? scope.exchanges[ex] : undefined;
  if (cfg === undefined) {
    c.fail(`${path}.exchange`, ex, `a configured exchange (${Object.keys(scope.exchanges).join(', ')})`);
    return undefined;
  }
  const index = new SymbolIndex();
  for (const s of cfg.symbols) index.add(s);
  const native = typeof value.symbol === 'string' ? index.resolve(value.symbol)?.native : undefined;
  if (native === undefined) {
    c.fail(`${path}.symbol`, value.symbol, `a symbol configured on ${ex as string}`);
    return undefined;
  }
  return { exchange: ex as string, symbol: native };
}
