/**
 * Portfolio holdings on disk (LMDB, JSON values keyed by portfolio id), so a
 * holdings PUT survives a restart. A separate environment beside the bar
 * database (`<storage.path>-portfolios`): the bar database's verification
 * may move it aside at start, which must never take holdings with it.
 *
 * Writes are synchronous and durable before `put` returns (a PUT answers
 * only once its holdings are on disk); a handful per day, never on a live path.
 */
import { open, type RootDatabase } from 'lmdb';
import { ErrorCode, StorageError } from '../errors.ts';

export class HoldingsDb {
  readonly path: string;
  readonly #db: RootDatabase<Record<string, number>, string>;

  /** Open (creating when missing); throws StorageError STORAGE_FAILED when it cannot. */
  constructor(path: string) {
    this.path = path;
    try {
      this.#db = open<Record<string, number>, string>({ path, encoding: 'json', compression: false });
    } catch (err) {
      throw new StorageError(ErrorCode.STORAGE_FAILED, `cannot open ${path}`, (err as NodeJS.ErrnoException).code, { cause: err });
    }
  }

  /** The stored holdings of `id`, undefined when none were ever put. */
  get(id: string): Record<string, number> | undefined {
    return this.#db.get(id);
  }

  /** Store `holdings` for `id`, durably; throws StorageError STORAGE_FAILED. */
  put(id: string, holdings: Record<string, number>): void {
    try {
      this.#db.putSync(id, holdings);
    } catch (err) {
      throw new StorageError(ErrorCode.STORAGE_FAILED, `write to ${this.path} failed`, (err as NodeJS.ErrnoException).code, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
