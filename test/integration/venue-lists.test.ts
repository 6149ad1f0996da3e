/**
 * Live additions checked against the venue's symbol list (docs/operations.md):
 * the runtime fetches the list over REST at start without waiting for it; a
 * symbol the venue does not list is refused whole (CHANGE_REFUSED, naming
 * it), by the API and by a reload, and nothing changes; while no list could
 * be fetched, additions go through with a logged warning. The venue is the
 * simulated Binance-protocol exchange, which lists its symbols at
 * `GET /api/v3/exchangeInfo`; the failing venue is the symbol-list fake.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire, TickwireRuntime } from '../../src/api/tickwire.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import { SIM_CATALOGUE, SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { openApiJson } from '../../src/server/openapi.ts';
import { SchemaChecker } from '../support/api-documents.ts';
import { FakeSymbolLists } from '../support/fake-symbol-lists.ts';
import { captureLog } from '../support/log-capture.ts';
import { until } from '../support/until.ts';

let venue: SimulatedExchange | undefined;
let lists: FakeSymbolLists | undefined;
let tickwire: TickwireRuntime | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await venue?.stop();
  await lists?.stop();
  tickwire = undefined;
  venue = undefined;
  lists = undefined;
});

function refusal(change: () => unknown): TickwireError {
  try {
    change();
  } catch (err) {
    if (err instanceof TickwireError) return err;
    throw err;
  }
  throw new Error('the change was not refused');
}

const OPTIONS = { statusMs: 100, tickMs: 50 };

describe('live additions checked against the venue list', () => {
  it('a symbol the venue does not list is refused whole, by addSymbol and by a reload', async () => {
    venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMB', 'SIMC'], rate: 20, seed: 3 });
    const { url } = await venue.start();
    const raw = { timeframes: ['1m'], exchanges: { binance: { url, restUrl: venue.restUrl, symbols: ['SIMA'] } } };
    tickwire = createTickwire(raw, OPTIONS) as TickwireRuntime;
    await tickwire.start();
    const tw = tickwire;
    await until(() => tw.status().exchanges['binance']!.symbolList?.fetchedAt != null, 20_000, 'the symbol list');
    expect(tw.status().exchanges['binance']!.symbolList).toMatchObject({ symbols: 3 + SIM_CATALOGUE.length, error: null, failures: 0 });
    // As documented in /v1/status.
    const checker = new SchemaChecker(JSON.parse(openApiJson()));
    expect(checker.problems({ $ref: '#/components/schemas/ExchangeStatus' }, tw.status().exchanges['binance'])).toEqual([]);

    const err = refusal(() => tw.addSymbol('binance', 'SIMZ'));
    expect(err.code).toBe(ErrorCode.CHANGE_REFUSED);
    expect(err.message).toContain('does not list SIMZ');
    expect(err.message).toContain('GET /api/v3/exchangeInfo listed');
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA']);

    // A reload holding one unlisted symbol among listed ones changes nothing.
    const next = parseConfig({ ...raw, exchanges: { binance: { ...raw.exchanges.binance, symbols: ['SIMA', 'SIMB', 'SIMY'] } } }, 'test');
    const reload = refusal(() => tw.applyConfig(next));
    expect(reload.code).toBe(ErrorCode.CHANGE_REFUSED);
    expect(reload.message).toContain('does not list SIMY');
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA']);

    // A listed symbol goes through, and trades flow for it.
    expect(tw.addSymbol('binance', 'SIMC').action).toBe('symbol_added');
    const v = venue;
    await until(() => v.server.subscriptions().some((s) => s.includes('simc@trade')), 20_000, 'the live subscribe');
    expect(await tw.metrics()).toMatch(/tickwire_live_changes_total\{action="refused"\} 2/);
    expect(await tw.metrics()).toMatch(new RegExp(`tickwire_symbol_list_symbols\\{exchange="binance"\\} ${3 + SIM_CATALOGUE.length}`));
  });

  it('the simulated exchange lists its configured symbols and its catalogue', async () => {
    tickwire = createTickwire({ timeframes: ['1m'], exchanges: { simulated: { symbols: ['SIM-BTC', 'SIM-MINE'], rate: 5 } } }, OPTIONS) as TickwireRuntime;
    await tickwire.start();
    const tw = tickwire;
    await until(() => tw.status().exchanges['simulated']!.symbolList?.fetchedAt != null, 20_000, 'the symbol list');
    expect(tw.status().exchanges['simulated']!.symbolList!.symbols).toBe(SIM_CATALOGUE.length + 1); // SIM-MINE beside the catalogue
    expect(tw.addSymbol('simulated', 'SIM-SOL').symbol).toBe('SIM-SOL');
    expect(refusal(() => tw.addSymbol('simulated', 'SIM-NOPE')).code).toBe(ErrorCode.CHANGE_REFUSED);
  });

  it('while the list cannot be fetched, start goes on and additions pass with a warning', async () => {
    lists = new FakeSymbolLists();
    await lists.start();
    lists.fail = { status: 500, failures: 1_000 };
    venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMB'], rate: 20, seed: 4 });
    const { url } = await venue.start();
    const log = captureLog('info');
    tickwire = createTickwire(
      { timeframes: ['1m'], exchanges: { binance: { url, restUrl: lists.url, symbols: ['SIMA'] } } },
      { ...OPTIONS, logger: log.logger },
    ) as TickwireRuntime;
    await tickwire.start();
    const tw = tickwire;
    await until(() => (tw.status().exchanges['binance']!.symbolList?.failures ?? 0) > 0, 20_000, 'the failed fetch');
    expect(tw.status().exchanges['binance']!.symbolList).toMatchObject({ symbols: null, fetchedAt: null });
    expect(tw.status().exchanges['binance']!.symbolList!.error).toContain('HTTP 500');
    expect(log.lines.some((l) => l['event'] === 'symbols.list_failed')).toBe(true);

    expect(tw.addSymbol('binance', 'SIMB').action).toBe('symbol_added');
    const warning = log.lines.find((l) => l['event'] === 'symbols.unchecked')!;
    expect(warning['symbol']).toBe('SIMB');
    expect(await tw.metrics()).toMatch(/tickwire_symbol_list_failures_total\{exchange="binance"\} 1/);
  });
});
