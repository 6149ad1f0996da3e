/**
 * Start-up verification of the bar database, before anything native touches
 * its pages: a corrupt LMDB file kills a process natively (found by probes:
 * truncated to 4 KiB → SIGSEGV, to half → SIGBUS, random bytes mid-file → an
 * `IS_LEAF(mp)` assertion's abort, random bytes after the meta pages → "0
 * bars restored", then SIGSEGV).
 *
 * Two steps:
 * 1. Here, in plain JS: the data file's size and its two meta pages (magic,
 *    format, the last page they point at). Catches empty and truncated files.
 * 2. In a child process (verify-child.ts): open read-only and walk every
 *    entry. A crash there (a signal) or a failed check is a verdict, never
 *    the gateway's death.
 *
 * `verifyStore` is synchronous (spawnSync): it runs at start, before the
 * feeds and the server, when blocking the main thread costs nothing;
 * `verifyStoreAsync` is for retries while serving.
 */
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERIFY_EXIT, type ChildReport } from './verify-child.ts';
import { workerScript } from '../model/worker-script.ts';

export type Verdict =
  /** No data file yet: a new database. */
  | { state: 'missing' }
  | { state: 'ok'; entries: number }
  | { state: 'corrupt'; reason: string }
  /** The file could not be read (permissions, I/O): a storage fault, not corruption. */
  | { state: 'unreadable'; reason: string; errno: string | undefined };

/** A walk longer than this is taken for a loop in a damaged tree (100k bars take ~0.3 s). */
const VERIFY_TIMEOUT_MS = 60_000;

// LMDB's data file as lmdb 3.5 writes it (format 2): pages of `pageSize`
// bytes; pages 0 and 1 are meta pages, each a 24-byte page header then:
const PAGE_HEADER = 24;
const MAGIC = 0xbeefc0de;
const FORMAT = 2;
const M_MAGIC = PAGE_HEADER + 0; // u32
const M_VERSION = PAGE_HEADER + 4; // u32
const M_PAGE_SIZE = PAGE_HEADER + 24; // u32: the free-page DB's md_pad holds the page size
const M_LAST_PAGE = PAGE_HEADER + 120; // u64: last page in use
const M_TXN_ID = PAGE_HEADER + 128; // u64
const MIN_PAGE = 512;
const MAX_PAGE = 65_536;

const CHILD_SCRIPT = workerScript('verify-store');
/** The child's script, and in a checkout the entry its shim imports (argv[2]). */
const CHILD_ARGS = [fileURLToPath(CHILD_SCRIPT.url), ...(CHILD_SCRIPT.data.entry === undefined ? [] : [CHILD_SCRIPT.data.entry])];

/** The data file of the environment at `path`: lmdb keeps `path` itself when it has an extension, else `path/data.mdb`. */
export function dataFileOf(path: string): string {
  return extname(path) !== '' ? path : join(path, 'data.mdb');
}

/** Verify the database at `path` whose records are at most `recordBytes` long, blocking. Never throws. */
export function verifyStore(path: string, recordBytes: number): Verdict {
  const file = checkDataFile(dataFileOf(path));
  if (file.state !== 'ok') return file;
  const child = spawnSync(process.execPath, [...CHILD_ARGS, path, String(recordBytes)], {
    encoding: 'utf8',
    timeout: VERIFY_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 20,
  });
  return verdictOf(child);
}

/** `verifyStore` without blocking the event loop. Never rejects. */
export async function verifyStoreAsync(path: string, recordBytes: number): Promise<Verdict> {
  const file = checkDataFile(dataFileOf(path));
  if (file.state !== 'ok') return file;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...CHILD_ARGS, path, String(recordBytes)], { encoding: 'utf8', timeout: VERIFY_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const timedOut = err !== null && (err as { killed?: boolean }).killed === true;
      resolve(verdictOf({ status: child.exitCode, signal: child.signalCode, stdout, stderr, error: timedOut ? err : undefined }));
    });
  });
}

interface ChildOutcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when it could not be started or was killed for running too long. */
  error?: Error | undefined;
}

function verdictOf(child: ChildOutcome): Verdict {
  if (child.signal !== null) {
    const why = child.error !== undefined ? `timed out after ${VERIFY_TIMEOUT_MS} ms` : `crashed with ${child.signal}`;
    return { state: 'corrupt', reason: `the verifier ${why} reading it` };
  }
  let out: ChildReport = {};
  try {
    out = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '') as ChildReport;
  } catch {
    // no report: the verifier itself failed (below)
  }
  switch (child.status) {
    case VERIFY_EXIT.OK:
      return { state: 'ok', entries: out.entries ?? 0 };
    case VERIFY_EXIT.CORRUPT:
      return { state: 'corrupt', reason: out.reason ?? 'corrupt' };
    case VERIFY_EXIT.UNREADABLE:
      return { state: 'unreadable', reason: out.reason ?? 'cannot open', errno: typeof out.errno === 'string' ? out.errno : undefined };
    default: {
      // The verifier could not run (not the database's fault): say so, and treat the file as unreadable rather than move it aside.
      const detail = (child.error?.message ?? child.stderr.trim().split('\n').at(-1)) || `exit ${child.status}`;
      return { state: 'unreadable', reason: `the verifier could not run: ${detail}`, errno: undefined };
    }
  }
}

/** Step 1: size and meta pages, in plain JS. 'ok' means "worth walking". */
export function checkDataFile(file: string): Verdict {
  let size: number;
  const head = Buffer.alloc(2 * MAX_PAGE);
  let got = 0;
  try {
    size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      got = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return { state: 'missing' };
    return { state: 'unreadable', reason: (err as Error).message, errno };
  }
  if (size === 0) return { state: 'corrupt', reason: 'the data file is empty (0 bytes)' };
  if (got < PAGE_HEADER + M_TXN_ID + 8 || head.readUInt32LE(M_MAGIC) !== MAGIC) return { state: 'corrupt', reason: 'no LMDB meta page at the start of the file' };
  const version = head.readUInt32LE(M_VERSION);
  if (version !== FORMAT) return { state: 'ok', entries: 0 }; // a format this check does not know: leave it to the walk
  const pageSize = head.readUInt32LE(M_PAGE_SIZE);
  if (pageSize < MIN_PAGE || pageSize > MAX_PAGE || (pageSize & (pageSize - 1)) !== 0) return { state: 'corrupt', reason: `meta page 0 gives page size ${pageSize}` };
  if (got < 2 * pageSize) return { state: 'corrupt', reason: `truncated: ${size} bytes, less than its two ${pageSize}-byte meta pages` };
  let lastPage = -1;
  let txn = -1n;
  for (const at of [0, pageSize]) {
    if (head.readUInt32LE(at + M_MAGIC) !== MAGIC || head.readUInt32LE(at + M_VERSION) !== FORMAT) {
      return { state: 'corrupt', reason: `meta page ${at / pageSize} is damaged` };
    }
    const id = head.readBigUInt64LE(at + M_TXN_ID);
    if (id > txn) {
      txn = id;
      lastPage = Number(head.readBigUInt64LE(at + M_LAST_PAGE));
    }
  }
  const needed = (lastPage + 1) * pageSize;
  if (size < needed) return { state: 'corrupt', reason: `truncated: ${size} bytes, its meta page says ${needed}` };
  return { state: 'ok', entries: 0 };
}

/**
 * Move the database at `path` aside as `<path>.corrupt-<ISO 8601 basic time>`
 * (its lock file is removed: lmdb recreates it). Returns the new name; throws
 * (a Node system error) when the rename fails.
 */
export function moveAside(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, ''); // 20250101T120000.000Z
  const target = `${path}.corrupt-${stamp}`;
  renameSync(path, target);
  if (extname(path) !== '') rmSync(`${path}-lock`, { force: true });
  else rmSync(join(target, 'lock.mdb'), { force: true });
  return target;
}
