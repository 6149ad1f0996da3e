/** Shared by the storage fault tests: a database of N bars, its corrupted copies, a real small tmpfs. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, openSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { BAR_FIELDS, BarField as F } from '../../src/model/records.ts';
import { BarDb, type StoredBar } from '../../src/storage/bar-db.ts';
import { mulberry32 } from '../support/prng.ts';

/** A closed 1s bar of `series` opening at `openTime`. */
export function bar(series: string, openTime: number): StoredBar {
  const record = new Float64Array(BAR_FIELDS);
  record[F.OPEN_TIME] = openTime;
  record[F.CLOSE_TIME] = openTime + 999;
  record[F.OPEN] = record[F.HIGH] = record[F.LOW] = record[F.CLOSE] = 100 + (openTime % 7);
  record[F.CLOSED] = 1;
  return { series, record };
}

/** Write `n` bars over three series into a new database at `dir`. */
export async function makeDb(dir: string, n: number): Promise<void> {
  const db = new BarDb(dir);
  const keys = ['sim:SIM-BTC:1s', 'sim:SIM-ETH:1s', 'sim:SIM-SOL:1s'];
  let batch: StoredBar[] = [];
  for (let i = 0; i < n; i++) {
    batch.push(bar(keys[i % 3]!, 1_700_000_000_000 + Math.floor(i / 3) * 1000));
    if (batch.length === 10_000) {
      await db.write(batch);
      batch = [];
    }
  }
  await db.write(batch);
  await db.close();
}

/** The corruptions found to kill the gateway natively (issue 18, item 4). */
export const CORRUPTIONS = {
  'truncated to 0 bytes': (file: string) => truncateSync(file, 0),
  'truncated to 4 KiB': (file: string) => truncateSync(file, 4096),
  'truncated to half': (file: string) => truncateSync(file, Math.floor(statSync(file).size / 8192) * 4096),
  'random bytes mid-file': (file: string) => overwrite(file, Math.floor(statSync(file).size / 8192) * 4096, 4096),
  'random bytes after the first 8 KiB': (file: string) => overwrite(file, 8192, statSync(file).size - 8192),
} as const;
export type Corruption = keyof typeof CORRUPTIONS;

/** A copy of the database directory `from` at `to`, corrupted by `kind`. */
export function corruptCopy(from: string, to: string, kind: Corruption): void {
  cpSync(from, to, { recursive: true });
  CORRUPTIONS[kind](path.join(to, 'data.mdb'));
}

function overwrite(file: string, at: number, length: number): void {
  const random = mulberry32(18);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, length, at);
  closeSync(fd);
}

/** Mount a tmpfs of `size` at `dir` (root only); the reason when it cannot. */
export function mountTmpfs(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (needs root and mount(8)): ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  }
}

/** Unmount `dir`, lazily: a database closed while its disk was full keeps its file open until the process exits. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

/** Fill the file system holding `dir` with a file `name` until it is full; returns its path. */
export function fill(dir: string, name = 'filler'): string {
  const file = path.join(dir, name);
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 0xaa);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
  return file;
}
