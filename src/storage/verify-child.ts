/**
 * The verifier's side of src/storage/verify.ts, run in a child process so a
 * native crash on a bad page (SIGSEGV, SIGBUS, an LMDB assertion's abort)
 * takes down only this process. It opens the database read-only and walks
 * every entry: each key must be a `[series, openTime]` pair, each value a
 * record of whole float64 fields no longer than the current record, and the
 * walk must find as many entries as the database's header counts (random
 * bytes over the tree's pages otherwise read as an empty database).
 *
 * It prints one JSON line and exits with VERIFY_EXIT: OK, CORRUPT or
 * UNREADABLE (the environment could not be opened: permissions, I/O).
 */
import { open } from 'lmdb';

export const VERIFY_EXIT = { OK: 0, CORRUPT: 2, UNREADABLE: 3 } as const;

/** What the child prints. */
export interface ChildReport {
  entries?: number;
  reason?: string;
  errno?: string | number;
}

/** Verify the database at `path` whose records are at most `recordBytes` long; returns the exit code. */
export function verifyChild(path: string, recordBytes: number): number {
  let db;
  try {
    db = open<Buffer>({ path, readOnly: true, encoding: 'binary', compression: false });
  } catch (err) {
    return report(VERIFY_EXIT.UNREADABLE, { reason: (err as Error).message, errno: (err as { code?: string | number }).code });
  }
  try {
    const counted = db.getStats() as { entryCount: number };
    let entries = 0;
    for (const { key, value } of db.getRange({})) {
      if (!Array.isArray(key) || key.length !== 2 || typeof key[0] !== 'string' || !Number.isFinite(key[1])) {
        return report(VERIFY_EXIT.CORRUPT, { reason: `entry ${entries}: key ${String(JSON.stringify(key as unknown)).slice(0, 80)} is not [series, openTime]` });
      }
      if (value.length === 0 || value.length % 8 !== 0 || value.length > recordBytes) {
        return report(VERIFY_EXIT.CORRUPT, { reason: `entry ${entries} (${String(key[0])} ${String(key[1])}): ${value.length}-byte value is not a bar record` });
      }
      entries++;
    }
    if (entries !== counted.entryCount) {
      return report(VERIFY_EXIT.CORRUPT, { reason: `the header counts ${counted.entryCount} entries, ${entries} could be read` });
    }
    return report(VERIFY_EXIT.OK, { entries });
  } catch (err) {
    return report(VERIFY_EXIT.CORRUPT, { reason: (err as Error).message });
  }
}

function report(code: number, body: ChildReport): number {
  process.stdout.write(`${JSON.stringify(body)}\n`);
  return code;
}
