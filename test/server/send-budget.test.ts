/**
 * SendBudget in isolation, over seeded simulated sockets: no socket it tracks
 * ever holds more than the live limit, it measures only sockets whose bound a
 * publish could pass, and its heap stays consistent through removals.
 */
import { describe, expect, it } from 'vitest';
import { SendBudget, type BudgetSlot } from '../../src/server/backpressure.ts';
import { Prng } from '../support/prng.ts';

interface Sock extends BudgetSlot {
  id: number;
  buffered: number;
  paused: boolean;
  subscribed: boolean;
  channels: Set<number>;
}

function simulate(seed: number, steps: number): { measured: number; publishes: number; congested: number } {
  const rnd = new Prng(seed);
  const LIMIT = 64 * 1024;
  let measured = 0;
  let congested = 0;
  const socks: Sock[] = Array.from({ length: 40 }, (_, id) => ({
    id, buffered: 0, paused: false, subscribed: false, channels: new Set(), heapIndex: -1, checkAt: 0,
  }));
  const budget = new SendBudget<Sock>(
    LIMIT,
    (s) => {
      measured++;
      return s.buffered;
    },
    (s) => {
      congested++;
      if (s.heapIndex !== -1) throw new Error('a congested socket is still in the heap');
      s.paused = true;
    },
  );
  let publishes = 0;
  let over: string | undefined;
  for (let step = 0; step < steps; step++) {
    const s = rnd.pick(socks);
    const r = rnd.float();
    if (r < 0.02) {
      // subscribe to a channel (starts tracking)
      s.channels.add(rnd.int(0, 7));
      if (!s.paused) {
        s.subscribed = true;
        budget.track(s);
      }
    } else if (r < 0.03) {
      // close / unsubscribe everything
      s.channels.clear();
      s.subscribed = false;
      budget.remove(s);
    } else if (r < 0.10) {
      // the peer reads: buffer drains; a paused socket resumes below an eighth
      s.buffered = Math.max(0, s.buffered - rnd.int(0, 40_000));
      if (s.paused && s.buffered <= LIMIT / 8 && s.channels.size > 0) {
        s.paused = false;
        s.subscribed = true;
        budget.track(s);
      }
    } else if (r < 0.12) {
      // a direct reply to s, then re-measure (as the stream does)
      s.buffered += rnd.int(10, 3000);
      if (s.subscribed && !s.paused && s.channels.size > 0) budget.track(s);
    } else {
      // publish on a channel
      const channel = rnd.int(0, 7);
      const bytes = rnd.int(100, 700);
      budget.reserve(bytes);
      publishes++;
      for (const t of socks) {
        if (t.subscribed && !t.paused && t.channels.has(channel)) {
          t.buffered += bytes;
          if (t.buffered > LIMIT && over === undefined) over = `socket ${t.id} holds ${t.buffered} at step ${step} (seed ${seed})`;
        }
      }
    }
  }
  expect(over).toBeUndefined();
  return { measured, publishes, congested };
}

describe('SendBudget', () => {
  it.each([1, 2, 3, 42, 1234])('keeps every live socket under its limit (seed %i)', (seed) => {
    const { measured, publishes, congested } = simulate(seed, 40_000);
    expect(congested).toBeGreaterThan(0); // the simulation does congest sockets
    expect(measured).toBeLessThan(publishes * 2); // far from measuring every subscriber on every publish
  });

  it('measures nobody while the bound is far away', () => {
    let measured = 0;
    const budget = new SendBudget<BudgetSlot>(1_000_000, () => (measured++, 0), () => undefined);
    const s: BudgetSlot = { heapIndex: -1, checkAt: 0 };
    budget.track(s);
    expect(measured).toBe(1);
    for (let i = 0; i < 1000; i++) budget.reserve(500);
    expect(measured).toBe(1); // 500 kB published, bound at 1 MB minus the topic-tree allowance
    for (let i = 0; i < 2000; i++) budget.reserve(500);
    expect(measured).toBeGreaterThan(1);
    budget.remove(s);
    expect(budget.size).toBe(0);
  });
});
