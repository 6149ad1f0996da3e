/**
 * The strategy pool's threads at a low scheduling priority
 * (src/strategies/thread-priority.ts): each pool thread lowers its own nice
 * value when it starts, and only its own (the main thread and this test's
 * thread keep theirs, read back from /proc); a thread replaced after a
 * timeout is lowered too; `nice: 0` leaves every thread alone; where
 * per-thread priorities do not exist the call is not made and the failure
 * is counted. Start-up's warning waits until every thread has applied its
 * priority, and says how many were checked when some had not started.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { priorityWarning, StrategyPool, type PoolPriority } from '../../src/strategies/pool.ts';
import type { JudgeTask } from '../../src/strategies/task.ts';
import { lowerOwnPriority, niceFromStat, PriorityFailure, threadIdFromLink, threadNice } from '../../src/strategies/thread-priority.ts';
import { until } from '../support/until.ts';

const BURN = path.join(import.meta.dirname, 'fixtures/burn.mjs');
const LINUX = process.platform === 'linux';
const pools: StrategyPool[] = [];

afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

/** Thread ids of this process at nice 19 now. */
function lowestPriorityThreads(): Set<number> {
  return new Set(readdirSync('/proc/self/task').map(Number).filter((tid) => threadNice(tid) === 19));
}

function pool(threads: number, nice: number): StrategyPool {
  const p = new StrategyPool(threads, nice);
  pools.push(p);
  return p;
}

describe('strategy pool: thread priority', () => {
  it('reads a thread id and a nice value the way /proc writes them', () => {
    expect(threadIdFromLink('4242/task/4250')).toBe(4250);
    expect(threadIdFromLink('self')).toBeNull();
    // A command may hold spaces and parentheses: fields count from the last ')'.
    const stat = '4250 (node (worker) 1) S 1 4242 4242 0 -1 4194368 10 0 0 0 5 1 0 0 39 19 12 0 100 200 300';
    expect(niceFromStat(stat)).toBe(19);
  });

  it('makes no call where a thread cannot be told from its process', () => {
    expect(lowerOwnPriority(19, 'darwin')).toBe(PriorityFailure.UNSUPPORTED);
    expect(lowerOwnPriority(19, 'win32')).toBe(PriorityFailure.UNSUPPORTED);
  });

  it('lowers each pool thread, and only the pool threads, to the nice value asked', async () => {
    const mainBefore = LINUX ? threadNice(process.pid) : NaN;
    const selfTid = LINUX ? threadIdFromLink(readlinkSync('/proc/thread-self')) : null;
    const selfBefore = selfTid === null ? NaN : threadNice(selfTid);
    const before = LINUX ? lowestPriorityThreads() : new Set<number>();
    const p = pool(2, 19);
    await until(() => p.priority.lowered + p.priority.failed === 2, 30_000, 'both pool threads started');
    if (!LINUX) {
      expect(p.priority).toMatchObject({ lowered: 0, failed: 2, lastFailure: PriorityFailure.UNSUPPORTED });
      return;
    }
    expect(p.priority).toEqual({ nice: 19, threads: 2, lowered: 2, failed: 0, lastFailure: PriorityFailure.NONE });
    const added = [...lowestPriorityThreads()].filter((tid) => !before.has(tid));
    expect(added).toHaveLength(2);
    expect(added).not.toContain(process.pid);
    expect(threadNice(process.pid)).toBe(mainBefore);
    if (selfTid !== null) expect(threadNice(selfTid)).toBe(selfBefore);
  });

  it('lowers the fresh thread that replaces one terminated past its deadline', async () => {
    const p = pool(1, 19);
    await until(() => p.priority.lowered + p.priority.failed === 1, 30_000, 'the pool thread started');
    // A predict that burns 5 s against a 100 ms deadline: the worker is terminated and piscina starts another.
    const judge: JudgeTask = { op: 'judge', strategy: 'slow', state: '{}', features: {}, position: null, window: { kind: 'full', version: 1, bars: [{ close: 1 }], module: BURN, params: { burnMs: 5_000 } } };
    await expect(p.judge(judge, 100)).rejects.toThrow(/longer than 100 ms/);
    await until(() => p.priority.lowered + p.priority.failed === 2, 30_000, 'the replacement thread started');
    expect(p.priority.lowered).toBe(LINUX ? 2 : 0);
  });

  it('never runs a pool thread above the priority of the thread that started the pool', async () => {
    if (!LINUX) return;
    const selfTid = threadIdFromLink(readlinkSync('/proc/thread-self'))!;
    const selfBefore = threadNice(selfTid);
    // The gateway already runs at nice 10 (`nice -n 10 tickwire ...`); its pool threads inherit 10.
    os.setPriority(selfTid, 10);
    try {
      const before = new Set(readdirSync('/proc/self/task').map(Number));
      const p = pool(1, 5);
      await until(() => p.priority.lowered + p.priority.failed === 1, 30_000, 'the pool thread started');
      const added = readdirSync('/proc/self/task').map(Number).filter((tid) => !before.has(tid) && tid !== selfTid);
      // nice 5 asked of a thread born at 10 would raise it above the gateway (allowed for root / CAP_SYS_NICE).
      for (const tid of added) expect(threadNice(tid), `thread ${tid}`).toBeGreaterThanOrEqual(10);
      expect(p.priority.lowered).toBe(1);
    } finally {
      try {
        os.setPriority(selfTid, selfBefore); // raising back needs the privilege the bug needs too
      } catch {
        // unprivileged: this test thread stays at 10
      }
    }
  });

  it('leaves every thread at the gateway priority with nice 0', async () => {
    const before = LINUX ? lowestPriorityThreads() : new Set<number>();
    const p = pool(1, 0);
    const r = await p.runOnce({ op: 'probe', strategy: 'burn', module: BURN, role: 'strategy', params: { burnMs: 0 } }, 30_000);
    expect(r).toEqual({ op: 'probe', problem: null });
    expect(p.priority).toEqual({ nice: 0, threads: 1, lowered: 0, failed: 0, lastFailure: PriorityFailure.NONE });
    // Nothing was asked, so nothing is waited for.
    expect(await p.prioritiesChecked(30_000)).toEqual(p.priority);
    expect(priorityWarning(p.priority)).toBeUndefined();
    if (LINUX) expect([...lowestPriorityThreads()].filter((tid) => !before.has(tid))).toEqual([]);
  });

  it('waits until every pool thread has applied its priority before it reports', async () => {
    const p = pool(3, 19);
    // No polling here: prioritiesChecked resolves on the threads' own counts, all three of them.
    const checked = await p.prioritiesChecked(60_000);
    expect(checked.lowered + checked.failed).toBe(3);
    expect(checked.threads).toBe(3);
    if (LINUX) expect(checked).toEqual({ nice: 19, threads: 3, lowered: 3, failed: 0, lastFailure: PriorityFailure.NONE });
    expect(priorityWarning(checked)).toBe(LINUX ? undefined : expect.stringContaining('3 thread(s) could not be lowered to nice 19'));
  });

  it('reports, past its wait, how many threads were checked and how many were not', async () => {
    const p = pool(2, 19);
    // A zero wait reads the counters as they stand, as the old start-up check did.
    const now = await p.prioritiesChecked(0);
    expect(now.lowered + now.failed).toBeLessThanOrEqual(2);
    const some: PoolPriority = { nice: 19, threads: 4, lowered: 1, failed: 0, lastFailure: PriorityFailure.NONE };
    expect(priorityWarning(some)).toBe(
      'strategy pool: priority checked on 1 of 4 thread(s) (lowered to nice 19); 3 of 4 thread(s) not started yet, so not checked: ' +
        'tickwire_strategy_pool_priority_failures_total counts any that cannot be lowered',
    );
    const failedSome = { ...some, lowered: 0, failed: 2, lastFailure: PriorityFailure.REFUSED };
    expect(priorityWarning(failedSome)).toBe(
      "strategy pool: 2 thread(s) could not be lowered to nice 19 (the system refused setpriority on the thread): user code competes with the gateway's threads at equal priority; " +
        '2 of 4 thread(s) not started yet, so not checked',
    );
    expect(priorityWarning({ ...some, lowered: 4 })).toBeUndefined();
    // Replaced threads count again: more counted than the pool's size still means every thread was checked.
    expect(priorityWarning({ ...some, lowered: 6 })).toBeUndefined();
  });
});
