/**
 * Checks of untrusted settings (a config file, options passed in code) that
 * collect every problem instead of stopping at the first. Each check reports
 * `<key.path>: <what was given>, expected <what is accepted>` and returns a
 * usable fallback, so checking goes on.
 *
 * Values read from the environment (`${VAR}`, listed in `fromEnv` by path)
 * are never shown: credentials live there; messages name the variable.
 *
 * Bottom layer (imports nothing of tickwire's): config/ checks its sections
 * with it, and each exchange registry entry checks its own keys with it.
 */
import { indexPath, isMap, keyPath } from './paths.ts';

/** One problem in a configuration. */
export interface ConfigIssue {
  /** Key path (`exchanges.binance.symbols[2]`); '' for the document itself. */
  readonly path: string;
  /** What was given and what was expected, without the source and path. */
  readonly message: string;
  /** 1-based line and column, for YAML syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Collects issues; each check reports and returns a usable fallback so validation goes on. */
export class Checker {
  readonly issues: ConfigIssue[] = [];
  private readonly fromEnv: ReadonlyMap<string, readonly string[]>;

  /** `fromEnv`: path of every string that came from `${VAR}` → the variables it read (their values are never shown). */
  constructor(fromEnv: ReadonlyMap<string, readonly string[]> = new Map()) {
    this.fromEnv = fromEnv;
  }

  /** Report `value` at `path` as not what was `expected`. */
  fail(path: string, value: unknown, expected: string): void {
    this.issues.push({ path, message: `${this.describe(path, value)}, expected ${expected}` });
  }

  /** A map section: absent or null → {} (all defaults); unknown keys reported. */
  section(value: unknown, path: string, allowed: readonly string[], hint?: (key: string) => string): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) {
      this.fail(path, value, `a map with the keys ${allowed.join(', ')}`);
      return {};
    }
    this.unknownKeys(value, path, allowed, hint);
    return value;
  }

  /** Report every key of `map` not in `allowed`; `hint` may add where the key does apply. */
  unknownKeys(map: Record<string, unknown>, path: string, allowed: readonly string[], hint?: (key: string) => string): void {
    for (const key of Object.keys(map)) {
      if (allowed.includes(key)) continue;
      this.issues.push({ path: keyPath(path, key), message: `unknown key, expected one of ${allowed.join(', ')}${hint?.(key) ?? ''}` });
    }
  }

  /**
   * Absent or null → `fallback`. A string that reads as a number counts as one, whether it came
   * from `${VAR}` or was quoted in the file (`port: "30011"` and `port: ${PORT:-30011}` alike).
   */
  number(value: unknown, path: string, fallback: number, ok: (n: number) => boolean, expected: string): number {
    if (value === undefined || value === null) return fallback;
    let n: number | undefined;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'string' && NUMERIC.test(value.trim())) n = Number(value);
    if (n !== undefined && Number.isFinite(n) && ok(n)) return n;
    this.fail(path, value, expected);
    return fallback;
  }

  /** Absent or null → `fallback`. A string counts when it is true or false (from `${VAR}` or quoted). */
  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const s = value.trim().toLowerCase();
      if (s === 'true' || s === 'false') return s === 'true';
    }
    this.fail(path, value, 'true or false');
    return fallback;
  }

  /** One of `allowed`; absent or null → `fallback`. */
  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if ((allowed as readonly unknown[]).includes(value)) return value as T;
    this.fail(path, value, `one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** One of `allowed`; absent, null or '' → undefined (the owner's default). */
  optionalOneOf(value: unknown, path: string, allowed: readonly string[]): string | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    if (allowed.includes(value as string)) return value as string;
    this.fail(path, value, `one of ${allowed.join(', ')}`);
    return undefined;
  }

  /** A credential: text, required or not. Its value is never shown in a message. */
  credential(value: unknown, path: string, required: boolean, expected: string): string | undefined {
    if (value === undefined || value === null || value === '') {
      if (required) this.issues.push({ path, message: `missing, expected ${expected}` });
      return undefined;
    }
    if (typeof value === 'string') return value;
    this.issues.push({ path, message: `got a ${Array.isArray(value) ? 'list' : typeof value} (not shown), expected ${expected}` });
    return undefined;
  }

  /**
   * A URL with one of `protocols` (`['ws:', 'wss:']`); absent, null or ''
   * (e.g. `${BINANCE_URL:-}`) → undefined, the venue's default.
   */
  url(value: unknown, path: string, protocols: readonly string[], expected: string): string | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string') {
      try {
        if (protocols.includes(new URL(value).protocol)) return value;
      } catch {
        // reported below
      }
    }
    this.fail(path, value, expected);
    return undefined;
  }

  /** "got <value>", without ever showing a value read from the environment. */
  describe(path: string, value: unknown): string {
    const vars = this.fromEnv.get(path);
    if (vars !== undefined) return `got the value of ${vars.map((v) => `\${${v}}`).join(', ')} (not shown)`;
    if (value === undefined) return 'missing';
    if (value === null) return 'got an empty value';
    if (typeof value === 'string') return `got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    if (typeof value === 'number' || typeof value === 'boolean') return `got ${String(value)}`;
    if (Array.isArray(value)) return value.length === 0 ? 'got an empty list' : 'got a list';
    if (isMap(value)) return Object.keys(value).length === 0 ? 'got an empty map' : 'got a map';
    return `got a ${typeof value}`;
  }
}
