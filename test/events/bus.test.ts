/**
 * The event bus (src/events/bus.ts): filters, priorities, bounded queues with
 * their overflow policies, failures that never break other handlers,
 * recent() and stats().
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import { until } from '../support/until.ts';

interface Ev {
  trade: { exchange: string; symbol: string; price: number };
  alert: { id: string; level: string };
}
const TYPES = ['trade', 'alert'] as const;
const trade = (exchange: string, symbol: string, price: number) => ({ exchange, symbol, price });

describe('event bus', () => {
  it('runs handlers by priority, then in the order they were added', () => {
    const bus = new EventBus<Ev>([...TYPES]);
    const order: string[] = [];
    bus.on('trade', () => void order.push('low'), { priority: -1 });
    bus.on('trade', () => void order.push('first-0'));
    bus.on('trade', () => void order.push('high'), { priority: 10 });
    bus.on('trade', () => void order.push('second-0'));
    bus.emit('trade', trade('binance', 'BTCUSDT', 1));
    expect(order).toEqual(['high', 'first-0', 'second-0', 'low']);
  });

  it('filters by field match (exact, RegExp, list) and by predicate, counting what it turned away', () => {
    const bus = new EventBus<Ev>([...TYPES]);
    const got: string[] = [];
    bus.on('trade', (e) => void got.push(`m:${e.symbol}`), { filter: { exchange: 'binance', symbol: /^BTC/ }, name: 'match' });
    bus.on('trade', (e) => void got.push(`l:${e.exchange}`), { filter: { exchange: ['okx', 'kraken'] } });
    bus.on('trade', (e) => void got.push(`p:${e.price}`), { filter: (e) => e.price > 100 });
    bus.emit('trade', trade('binance', 'BTCUSDT', 50));
    bus.emit('trade', trade('binance', 'ETHUSDT', 150));
    bus.emit('trade', trade('okx', 'BTC-USDT', 5));
    expect(got).toEqual(['m:BTCUSDT', 'p:150', 'l:okx']);
    expect(bus.stats().handlers.find((h) => h.name === 'match')).toMatchObject({ calls: 1, filtered: 2 });
  });

  it('one handler for several types gets the type with each event', () => {
    const bus = new EventBus<Ev>([...TYPES]);
    const seen: string[] = [];
    bus.on(['trade', 'alert'], (_e, type) => void seen.push(type));
    bus.emit('alert', { id: 'a', level: 'info' });
    bus.emit('trade', trade('x', 'y', 1));
    expect(seen).toEqual(['alert', 'trade']);
  });

  it('a throwing handler is counted and reported; the others still run', () => {
    const reported: string[] = [];
    const bus = new EventBus<Ev>([...TYPES], { onError: (err, name) => void reported.push(`${name}:${(err as Error).message}`) });
    let after = 0;
    bus.on('trade', () => {
      throw new Error('boom');
    }, { name: 'bad', priority: 1 });
    bus.on('trade', () => void after++);
    bus.emit('trade', trade('a', 'b', 1));
    bus.emit('trade', trade('a', 'b', 2));
    expect(after).toBe(2);
    expect(reported).toEqual(['bad:boom', 'bad:boom']);
    expect(bus.errors).toBe(2);
    expect(bus.stats().handlers.find((h) => h.name === 'bad')).toMatchObject({ errors: 2, lastError: 'boom', calls: 2 });
  });

  it('a rejected promise of a handler without a queue is counted too', async () => {
    const bus = new EventBus<Ev>([...TYPES]);
    bus.on('trade', async () => {
      throw new Error('later');
    });
    bus.emit('trade', trade('a', 'b', 1));
    await until(() => bus.errors === 1, 5_000, 'the rejection counted');
  });

  it('a queued slow handler never delays the emitter, holds at most max, and drop-oldest keeps the newest', async () => {
    const bus = new EventBus<Ev>([...TYPES]);
    const got: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    bus.on('trade', async (e) => {
      await gate;
      got.push(e.price);
    }, { queue: { max: 3, overflow: 'drop-oldest' }, name: 'slow' });
    for (let i = 1; i <= 10; i++) bus.emit('trade', trade('a', 'b', i));
    // Nothing ran inside emit; all ten are either queued or dropped.
    expect(got).toEqual([]);
    const before = bus.stats().handlers[0]!;
    expect(before.queued! + before.dropped).toBe(10);
    expect(before.queued).toBeLessThanOrEqual(3);
    release();
    await until(() => bus.stats().handlers[0]!.queued === 0 && got.length === 3, 5_000, 'the queue drained');
    expect(got).toEqual([8, 9, 10]);
    expect(bus.stats().handlers[0]).toMatchObject({ dropped: 7, calls: 3, queueMax: 3 });
  });

  it('drop-newest keeps the first events of a burst', async () => {
    const bus = new EventBus<Ev>([...TYPES]);
    const got: number[] = [];
    bus.on('trade', (e) => void got.push(e.price), { queue: { max: 2, overflow: 'drop-newest' } });
    for (let i = 1; i <= 5; i++) bus.emit('trade', trade('a', 'b', i));
    await until(() => got.length === 2, 5_000, 'the queue drained');
    expect(got).toEqual([1, 2]);
    expect(bus.stats().handlers[0]!.dropped).toBe(3);
  });

  it('recent(n, filter) returns the last events of any type, oldest first, within its capacity', () => {
    const bus = new EventBus<Ev>([...TYPES], { recent: 4 });
    for (let i = 1; i <= 6; i++) bus.emit('trade', trade(i % 2 === 0 ? 'binance' : 'okx', 'BTC', i));
    bus.emit('alert', { id: 'x', level: 'critical' });
    expect(bus.recent(10).map((r) => r.type)).toEqual(['trade', 'trade', 'trade', 'alert']);
    expect(bus.recent(2).map((r) => r.type)).toEqual(['trade', 'alert']);
    expect(bus.recent(10, { type: 'trade', exchange: 'binance' }).map((r) => (r.event as Ev['trade']).price)).toEqual([4, 6]);
    expect(bus.recent(10, (_e, type) => type === 'alert')).toHaveLength(1);
  });

  it('stats count per type; removing a handler stops its calls', () => {
    const bus = new EventBus<Ev>([...TYPES]);
    let n = 0;
    const off = bus.on('trade', () => void n++);
    bus.emit('trade', trade('a', 'b', 1));
    off();
    bus.emit('trade', trade('a', 'b', 2));
    expect(n).toBe(1);
    expect(bus.stats().types['trade']).toEqual({ emitted: 2, handlers: 0 });
    expect(bus.stats().handlers).toEqual([]);
  });

  it('refuses unknown types and bad options with INVALID_PARAMETER', () => {
    const bus = new EventBus<Ev>([...TYPES]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err instanceof TickwireError ? err.code : 'other';
      }
      return 'none';
    };
    expect(code(() => bus.on('nope' as 'trade', () => {}))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(code(() => bus.on('trade', () => {}, { queue: { max: 0 } }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(code(() => bus.on('trade', () => {}, { queue: { max: 1e9 } }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(code(() => bus.on('trade', () => {}, { queue: { max: 5, overflow: 'grow' as 'drop-oldest' } }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(code(() => bus.on('trade', () => {}, { priority: NaN }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(code(() => bus.on('trade', () => {}, { filter: { price: {} as never } }))).toBe(ErrorCode.INVALID_PARAMETER);
    expect(bus.stats().handlers).toEqual([]);
  });
});
