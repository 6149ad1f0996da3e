/**
 * What a reload (`POST /v1/admin/reload`, SIGHUP) may change live, and the
 * difference it makes (docs/operations.md). Exchanges and their symbol
 * lists change live, the file winning (an exchange or symbol added over
 * HTTP that the file does not name goes, one removed that it names comes
 * back); any other difference — a section other than `exchanges`, an
 * exchange's url, channels or venue keys — needs a restart, and a reload
 * that holds one is refused whole, naming each, so the file and the running
 * gateway never silently disagree.
 */
import type { ExchangeConfig, TickwireConfig } from '../config/types.ts';
import { refused } from './live-checks.ts';

/** The symbol changes a reload makes, exchange by exchange, in the new file's order. */
export interface SymbolDiff {
  exchange: string;
  add: string[];
  remove: string[];
}

/** Everything a reload changes live: exchanges removed and added (their names), then symbol changes of the others. */
export interface ConfigDiff {
  removeExchanges: string[];
  addExchanges: string[];
  symbols: SymbolDiff[];
}

const RESTART_SECTIONS = ['server', 'timeframes', 'history', 'bars', 'storage', 'stream', 'auth', 'limits'] as const;

/** The live changes from `current` to `next`; throws CHANGE_REFUSED listing what only a restart applies. */
export function diffConfig(current: TickwireConfig, next: TickwireConfig): ConfigDiff {
  const restart: string[] = RESTART_SECTIONS.filter((key) => !same(current[key], next[key]));
  const names = new Set([...Object.keys(current.exchanges), ...Object.keys(next.exchanges)]);
  const diff: ConfigDiff = { removeExchanges: [], addExchanges: [], symbols: [] };
  for (const name of names) {
    const was = current.exchanges[name];
    const now = next.exchanges[name];
    if (was === undefined || now === undefined) {
      (was === undefined ? diff.addExchanges : diff.removeExchanges).push(name);
      continue;
    }
    const changedKeys = (Object.keys({ ...was, ...now }) as (keyof ExchangeConfig)[]).filter((k) => k !== 'symbols' && !same(was[k], now[k]));
    for (const key of changedKeys) restart.push(`exchanges.${name}.${key}`);
    const add = now.symbols.filter((s) => !was.symbols.includes(s));
    const remove = was.symbols.filter((s) => !now.symbols.includes(s));
    if (add.length > 0 || remove.length > 0) diff.symbols.push({ exchange: name, add, remove });
  }
  if (restart.length > 0) throw refused(`only exchanges and symbol lists change live; these differ from the running config and need a restart: ${restart.join(', ')}`);
  return diff;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
