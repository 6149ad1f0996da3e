/**
 * Start-up verification (issue 18, item 4): each corruption that used to kill
 * the process natively (SIGSEGV, SIGBUS, an LMDB assertion) or silently lose
 * every bar is reported as corrupt by the verifier, whose walk runs in a child
 * process; this process survives every one.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAR_FIELDS } from '../../src/model/records.ts';
import { moveAside, verifyStore, verifyStoreAsync } from '../../src/storage/verify.ts';
import { CORRUPTIONS, corruptCopy, makeDb, type Corruption } from './support.ts';

const BYTES = BAR_FIELDS * 8;
let root = '';
let good = '';

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'tickwire-verify-'));
  good = path.join(root, 'good');
  await makeDb(good, 454);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('storage verification', () => {
  it('a sound database verifies with every entry counted; a missing one is new', async () => {
    expect(verifyStore(good, BYTES)).toEqual({ state: 'ok', entries: 454 });
    expect(await verifyStoreAsync(good, BYTES)).toEqual({ state: 'ok', entries: 454 });
    expect(verifyStore(path.join(root, 'nothing-here'), BYTES)).toEqual({ state: 'missing' });
  });

  for (const kind of Object.keys(CORRUPTIONS) as Corruption[]) {
    it(`${kind}: reported corrupt, with a reason`, () => {
      const dir = path.join(root, kind.replace(/\W+/g, '-'));
      corruptCopy(good, dir, kind);
      const verdict = verifyStore(dir, BYTES);
      expect(verdict.state).toBe('corrupt');
      expect((verdict as { reason: string }).reason.length).toBeGreaterThan(0);
    });
  }

  it('records longer than a bar record, or not whole fields, are corrupt', async () => {
    const { open } = await import('lmdb');
    const dir = path.join(root, 'odd-values');
    const db = open<Buffer, [string, number]>({ path: dir, encoding: 'binary', compression: false });
    await db.put(['sim:SIM-BTC:1s', 0], Buffer.alloc(BYTES + 8));
    await db.close();
    expect(verifyStore(dir, BYTES)).toMatchObject({ state: 'corrupt', reason: expect.stringContaining('not a bar record') });
  });

  it('a file that is not LMDB at all is corrupt; a path that cannot be read is unreadable, not corrupt', () => {
    const dir = path.join(root, 'not-lmdb');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'data.mdb'), 'hello, not a database'.repeat(500));
    expect(verifyStore(dir, BYTES).state).toBe('corrupt');
    const file = path.join(root, 'a-file');
    writeFileSync(file, 'x');
    expect(verifyStore(path.join(file, 'db'), BYTES)).toMatchObject({ state: 'unreadable', errno: 'ENOTDIR' });
  });

  it('moveAside renames the database to <path>.corrupt-<ISO time> without its lock file', () => {
    const dir = path.join(root, 'to-move');
    corruptCopy(good, dir, 'truncated to 4 KiB');
    const moved = moveAside(dir, new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)));
    expect(moved).toBe(`${dir}.corrupt-20250102T030405.006Z`);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(path.join(moved, 'data.mdb'))).toBe(true);
    expect(existsSync(path.join(moved, 'lock.mdb'))).toBe(false);
  });
});
