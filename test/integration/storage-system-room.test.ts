/**
 * Storage's state on the `system` room (issue 18, "report `storage:
 * degraded` with the reason in … the `system` room"), over a real loopback
 * server and the simulated exchange: a joiner gets storage's current state
 * after the exchanges' (JSON and FlatBuffers alike), a subscriber gets the
 * change to `ok` when the fault clears, at the next seq; a database moved
 * aside at start is reported to joiners.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import { Client, type Msg } from '../server/helpers.ts';
import { corruptCopy, fill, makeDb, mountTmpfs, unmount } from '../storage/support.ts';
import { until } from '../support/until.ts';

let root = '';
const running: Tickwire[] = [];
const servers: TickwireServer[] = [];
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'tickwire-storage-room-'));
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
  for (const tw of running.splice(0)) await tw.stop();
  expect(unhandled).toEqual([]);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  rmSync(root, { recursive: true, force: true });
});

function make(storagePath: string): Tickwire {
  const tw = createTickwire(
    {
      timeframes: ['1s'],
      history: 60,
      exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 50, seed: 18 } },
      storage: { path: storagePath, flushMs: 100, backfill: false, onCorrupt: 'rebuild' },
    },
    { tickMs: 20, statusMs: 100 },
  );
  running.push(tw);
  return tw;
}

async function serve(tw: Tickwire): Promise<string> {
  const server = createServer(tw, { host: '127.0.0.1', port: 0 });
  servers.push(server);
  const { port } = await server.listen();
  return `ws://127.0.0.1:${port}/v1/stream`;
}

async function join(url: string): Promise<{ c: Client; states: Msg[] }> {
  const c = await Client.connect(url);
  clients.push(c);
  await c.subscribe(['system']);
  return { c, states: await c.take(2) }; // one exchange, then storage
}

describe('storage on the system room', () => {
  it('degraded with its reason to joiners (JSON and binary), then ok at the next seq when the fault clears', async () => {
    const blocker = path.join(root, 'blocker');
    writeFileSync(blocker, 'not a directory');
    const dbPath = path.join(blocker, 'db');
    const tw = make(dbPath);
    await tw.start();
    expect(tw.status().storage!.state).toBe('degraded');
    const url = await serve(tw);

    const { c, states } = await join(url);
    expect(states[0]).toMatchObject({ type: 'system', exchange: 'simulated' });
    const degraded = states[1];
    expect(degraded).toEqual({
      type: 'system', channel: 'system', seq: states[0].seq, source: 'storage', state: 'degraded',
      reason: expect.stringContaining(dbPath), errno: 'ENOTDIR', corrupt: null, movedTo: null, ts: expect.any(Number),
    });

    const bin = await Client.connect(`${url}?format=fbs`);
    clients.push(bin);
    await bin.subscribe(['system']);
    const binStates = await bin.take(2);
    expect(bin.binaryFrames).toBeGreaterThanOrEqual(3); // the reply and both states
    expect(binStates[1]).toEqual({ ...degraded, seq: binStates[1].seq, ts: binStates[1].ts });

    rmSync(blocker); // the retry opens it
    await until(() => tw.status().storage!.state === 'ok', 30_000, 'storage recovered');
    let ok: Msg;
    while ((ok = await c.next(10_000)).source !== 'storage') expect(ok.exchange).toBe('simulated'); // exchange changes may come between
    expect(ok).toMatchObject({ type: 'system', channel: 'system', source: 'storage', state: 'ok', reason: null, errno: null, corrupt: null });
    expect(ok.seq).toBeGreaterThan(degraded.seq);
    let okBin: Msg;
    while ((okBin = await bin.next(10_000)).source !== 'storage');
    expect(okBin).toEqual({ ...ok });

    // A joiner now gets ok.
    const later = await join(url);
    expect(later.states[1]).toMatchObject({ source: 'storage', state: 'ok', reason: null });
  });

  describe('a disk that fills up while subscribed (256 KiB tmpfs)', () => {
    const mnt = path.join(tmpdir(), `tickwire-room-full-${process.pid}`);
    const cannot = mountTmpfs(mnt, '256k');
    afterAll(() => {
      unmount(mnt);
      rmSync(mnt, { recursive: true, force: true });
    });

    // Skipped only where a tmpfs cannot be mounted (not root); the test above covers degraded and ok everywhere.
    it.skipIf(cannot !== undefined)(`ok, then degraded with ENOSPC live, then ok once space is freed${cannot !== undefined ? ` (skipped: ${cannot})` : ''}`, async () => {
      const tw = make(path.join(mnt, 'db'));
      await tw.start();
      const { c, states } = await join(await serve(tw));
      expect(states[1]).toMatchObject({ source: 'storage', state: 'ok', reason: null });
      const storageNext = async (): Promise<Msg> => {
        let m: Msg;
        while ((m = await c.next(20_000)).source !== 'storage');
        return m;
      };
      const filler = fill(mnt);
      const degraded = await storageNext();
      expect(degraded).toMatchObject({ state: 'degraded', reason: expect.any(String) });
      expect(['ENOSPC', 'EIO']).toContain(degraded.errno);
      rmSync(filler);
      // Further failures with another reason may come first; the last word is ok.
      let m = await storageNext();
      while (m.state !== 'ok') m = await storageNext();
      expect(m.seq).toBeGreaterThan(degraded.seq);
    });
  });

  it('a corrupt database moved aside at start is reported to joiners', async () => {
    const good = path.join(root, 'good');
    await makeDb(good, 20);
    const dir = path.join(root, 'corrupt');
    corruptCopy(good, dir, 'truncated to half');
    const tw = make(dir);
    await tw.start();
    const { states } = await join(await serve(tw));
    expect(states[1]).toMatchObject({ source: 'storage', state: 'ok', corrupt: expect.stringMatching(/.+/), movedTo: tw.status().storage!.corrupt!.movedTo });
    expect(states[1].movedTo).toMatch(/\.corrupt-\d{8}T\d{6}\.\d{3}Z$/);
  });
});
