/**
 * Checks of a live change before anything is touched (docs/operations.md):
 * the same rules a config file is held to at start, applied to the config
 * the change would make. A change that fails one is refused whole
 * (`CHANGE_REFUSED`, the reason in the message) and nothing changes.
 */
import { Checker } from '../check/checker.ts';
import { ConfigError } from '../config/error.ts';
import { exchangesSection, SYMBOL_PATTERN } from '../config/exchanges.ts';
import { configMemory, memoryIssue, type RingSizes } from '../config/limits.ts';
import type { ExchangeConfig, TickwireConfig } from '../config/types.ts';
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import { adapterFor, adapterNames, capabilitiesOf, knownAdapterNames } from '../exchanges/registry.ts';
import type { VenueLists } from './venue-lists.ts';

/** A refused live change: nothing was changed; `reason` says what would have been wrong. */
export function refused(reason: string): TickwireError {
  return new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: ${reason}`);
}

/** Throws INVALID_PARAMETER unless `symbol` is spelled as a config's symbols must be. */
export function checkSymbolName(symbol: unknown): asserts symbol is string {
  if (typeof symbol !== 'string' || !SYMBOL_PATTERN.test(symbol)) {
    throw new InvalidParameterError('symbol', symbol, 'a symbol of 1 to 40 letters, digits or . _ - / : as the exchange names it');
  }
}

/**
 * Throws CHANGE_REFUSED when `config` with `exchanges` replaced would break
 * a limit: `limits.maxSymbols`, `limits.maxMemory` (with the runtime's ring
 * sizes), or a venue's connection limit (accounts allowed a few connections).
 */
export function checkExchangesFit(config: TickwireConfig, exchanges: Record<string, ExchangeConfig>, rings: RingSizes): void {
  const total = Object.values(exchanges).reduce((n, ex) => n + ex.symbols.length, 0);
  if (total > config.limits.maxSymbols) {
    throw refused(`${total} symbols over all exchanges, expected at most ${config.limits.maxSymbols} (limits.maxSymbols)`);
  }
  const memory = memoryIssue(configMemory({ ...config, exchanges }, rings), config.limits);
  if (memory !== undefined) throw refused(memory.message);
  for (const [name, ex] of Object.entries(exchanges)) {
    const entry = adapterFor(name);
    if (entry?.maxConnections === undefined) continue;
    const limit = capabilitiesOf(entry, ex).maxStreamsPerConnection * entry.maxConnections;
    const streams = ex.symbols.length * ex.channels.length;
    if (streams > limit) {
      throw refused(`${name} would carry ${streams} streams (${ex.symbols.length} symbols × ${ex.channels.length} channels), over the venue's limit of ${limit} (${entry.maxConnections} connection(s))`);
    }
  }
}

/**
 * Throws CHANGE_REFUSED when `exchange`'s venue list does not list one of
 * `symbols` (naming them and the list). Without a list (none fetched yet, or
 * the venue has none) the symbols pass: the caller warns when it feeds them.
 */
export function checkListed(lists: VenueLists, exchange: string, symbols: readonly string[]): void {
  const unlisted = symbols.filter((s) => lists.listing(exchange, s) === 'unlisted');
  if (unlisted.length > 0) throw refused(`the venue does not list ${unlisted.join(', ')} as tradable on ${exchange} (${lists.describe(exchange)})`);
}

/**
 * `section` checked as `exchanges.<exchange>` of a config file is (the same
 * validator, the same key paths): ConfigError INVALID_CONFIG listing every
 * problem. An exchange with no adapter here (not built in, no plugin of the
 * config loaded) is CHANGE_REFUSED: plugins load from the file, at start or reload.
 */
export function checkExchangeSection(exchange: string, section: unknown): ExchangeConfig {
  const entry = adapterFor(exchange);
  if (entry === undefined) {
    const plugins = knownAdapterNames().filter((n) => !adapterNames().includes(n));
    throw refused(
      `no adapter named ${JSON.stringify(exchange)}: built in are ${adapterNames().join(', ')}; plugins loaded: ${plugins.join(', ') || 'none'} ` +
        '(an adapter plugin is loaded from the config file\'s plugins: list, at start or on reload)',
    );
  }
  const c = new Checker();
  const checked = exchangesSection(c, { [exchange]: section }, true, new Map([[exchange, entry]]));
  if (c.issues.length > 0) throw new ConfigError('request body', c.issues);
  return checked[exchange]!;
}

/**
 * Throws CHANGE_REFUSED when removing `exchange` would leave the config
 * invalid: it is the last exchange, or other sections name it (price feeds,
 * alert rules, strategies, `streamer.exchange`), each listed.
 */
export function checkRemovable(config: TickwireConfig, exchange: string): void {
  if (Object.keys(config.exchanges).length === 1) throw refused(`${exchange} is the last exchange; a gateway needs at least one`);
  checkUnnamed(config, exchange);
}

/** Throws CHANGE_REFUSED when other sections of `config` name `exchange` (price feeds, alert rules, strategies, `streamer.exchange`), each listed. */
export function checkUnnamed(config: TickwireConfig, exchange: string): void {
  const users: string[] = [];
  for (const feed of Object.values(config.feeds ?? {})) {
    if (feed.sources.some((s) => s.exchange === exchange)) users.push(`feeds.${feed.name}`);
  }
  for (const rule of config.alerts?.rules ?? []) {
    const target = 'target' in rule ? rule.target : rule;
    if ('exchange' in target && target.exchange === exchange) users.push(`alerts rule ${rule.id}`);
  }
  for (const [name, s] of Object.entries(config.strategies ?? {})) if (s.exchange === exchange) users.push(`strategies.${name}`);
  if (config.streamer?.exchange === exchange) users.push('streamer.exchange');
  if (users.length > 0) throw refused(`${exchange} is named by ${users.join(', ')}; remove those from the config first (a reload applies that)`);
}
