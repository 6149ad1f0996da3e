/**
 * `--profile NAME` (bench/cpu-profile.ts), not performance: self time summed
 * per function from V8 profiles, idle apart, threads named by the roles the
 * run recorded, profiles moved next to the report, and the report section.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectProfiles, hotFunctions, profileMarkdown } from '../../bench/cpu-profile.ts';

const ROOT = '/repo';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A V8 profile: `samples` of node ids with their time deltas (µs). */
function profile(samples: [id: number, us: number][]) {
  const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber });
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)', '', -1) },
      { id: 2, callFrame: frame('(idle)', '', -1) },
      { id: 3, callFrame: frame('onBar', `file://${ROOT}/src/wire/ready-candles.ts`, 0) },
      { id: 4, callFrame: frame('onBar', `file://${ROOT}/src/wire/ready-candles.ts`, 0) }, // the same function under another caller
      { id: 5, callFrame: frame('serialize', 'file:///elsewhere/node_modules/fastify/lib/reply.js', 1085) },
      { id: 6, callFrame: frame('', `file://${ROOT}/bench/http.ts`, 0) },
      { id: 7, callFrame: frame('(garbage collector)', '', -1) },
    ],
    samples: samples.map(([id]) => id),
    timeDeltas: samples.map(([, us]) => us),
  };
}

describe('hotFunctions', () => {
  it('sums self time per function across call sites, keeps idle apart, shares of busy time', () => {
    const p = profile([[2, 5000], [3, 1000], [4, 2000], [5, 500], [6, 250], [7, 250]]);
    const r = hotFunctions(p, ROOT);
    expect(r.idleMs).toBe(5);
    expect(r.busyMs).toBe(4);
    expect(r.top[0]).toEqual({ name: 'onBar', where: 'src/wire/ready-candles.ts', selfMs: 3, pct: 75 });
    expect(r.top[1]).toEqual({ name: 'serialize', where: 'node_modules/fastify/lib/reply.js:1086', selfMs: 0.5, pct: 12.5 });
    expect(r.top.map((f) => f.name)).toEqual(['onBar', 'serialize', '(anonymous)', '(garbage collector)']);
  });

  it('lists at most 10 functions, the most self time first', () => {
    const nodes = Array.from({ length: 15 }, (_, i) => ({ id: i + 1, callFrame: { functionName: `f${i}`, url: '', lineNumber: -1 } }));
    const r = hotFunctions({ nodes, samples: nodes.map((n) => n.id), timeDeltas: nodes.map((n) => n.id * 10) }, ROOT);
    expect(r.top.map((f) => f.name)).toEqual(['f14', 'f13', 'f12', 'f11', 'f10', 'f9', 'f8', 'f7', 'f6', 'f5']);
  });
});

describe('collectProfiles', () => {
  it('names each thread by its recorded role, moves its profile next to the report, busiest first', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'tw-prof-'));
    dirs.push(root);
    const work = path.join(root, 'work');
    mkdirSync(work);
    const write = (name: string, samples: [number, number][]) => writeFileSync(path.join(work, name), JSON.stringify(profile(samples)));
    write('CPU.20260102.030405.100.0.001.cpuprofile', [[3, 1000]]); // the bench process
    write('CPU.20260102.030405.100.4.002.cpuprofile', [[5, 9000]]); // a worker it started
    write('CPU.20260102.030405.200.0.003.cpuprofile', [[6, 3000]]); // a child process
    write('CPU.20260102.030405.200.1.004.cpuprofile', [[7, 2000]]); // the child's own worker
    writeFileSync(path.join(work, 'run.json'), '{}'); // not a profile: left alone
    const roles = [
      { pid: 100, threadId: 0, role: 'bench' },
      { pid: 100, threadId: 4, role: 'autocannon-worker' },
      { pid: 200, threadId: 0, role: 'gateway-tickwire' },
    ];
    const dest = path.join(root, 'results', 'report-cpuprofiles');
    const threads = collectProfiles(work, dest, roles, root);
    expect(threads.map((t) => [t.role, t.pid, t.threadId, t.busyMs])).toEqual([
      ['autocannon-worker', 100, 4, 9],
      ['gateway-tickwire', 200, 0, 3],
      ['gateway-tickwire worker', 200, 1, 2],
      ['bench', 100, 0, 1],
    ]);
    for (const t of threads) expect(existsSync(path.join(root, t.file))).toBe(true);
    expect(threads[0]!.file).toBe('results/report-cpuprofiles/autocannon-worker.100.4.cpuprofile');
    expect(existsSync(path.join(work, 'CPU.20260102.030405.100.0.001.cpuprofile'))).toBe(false);

    const md = profileMarkdown(threads).join('\n');
    expect(md).toContain('## Where the time goes (CPU profiles)');
    expect(md).toContain('### autocannon-worker (pid 100, thread 4): 9 ms busy, 0 ms idle');
    expect(md).toContain('| `serialize` | `node_modules/fastify/lib/reply.js:1086` | 9.0 | 100.0% |');
  });
});
