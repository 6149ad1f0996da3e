/**
 * Config environments: one file for dev, staging and prod.
 *
 * ```yaml
 * exchanges:
 *   binance: { symbols: [BTCUSDT] }
 * environments:
 *   dev:  { server: { port: 8081 }, storage: false }
 *   prod: { server: { host: 0.0.0.0 }, exchanges: { binance: { symbols: [BTCUSDT, ETHUSDT] } } }
 * ```
 *
 * The environment named by `--env` (else `TICKWIRE_ENV`) is deep-merged
 * over the rest of the file before anything else happens: maps merge key by
 * key, anything else (lists, scalars, `null`, `false`) replaces what the
 * base had. `${VAR}` is substituted after the merge, so a variable only
 * another environment reads need not be set. No environment chosen: the
 * base alone, `environments` ignored.
 *
 * Decisions: an environment named but not defined (a typo in prod, or a file
 * without `environments:`) is refused rather than silently running the base;
 * an environment may not define environments of its own.
 */
import type { ConfigIssue } from '../check/checker.ts';
import { isMap, keyPath } from '../check/paths.ts';
import type { Env } from './env.ts';

/** The variable that names the environment when `--env` does not. */
export const ENVIRONMENT_VARIABLE = 'TICKWIRE_ENV';

const ENVIRONMENTS = 'environments';

/** The environment to apply: `given` (`--env`) when set, else TICKWIRE_ENV from `env`; undefined (or empty) for none. */
export function chosenEnvironment(given: string | undefined, env: Env): string | undefined {
  const name = (given ?? env[ENVIRONMENT_VARIABLE] ?? '').trim();
  return name === '' ? undefined : name;
}

/** `doc` with environment `name` merged over its base and `environments` removed; `issues` say what stopped it. */
export function applyEnvironment(doc: unknown, name: string | undefined): { doc: unknown; issues: ConfigIssue[] } {
  if (!isMap(doc) || !(ENVIRONMENTS in doc)) {
    if (name === undefined) return { doc, issues: [] };
    return { doc, issues: [{ path: ENVIRONMENTS, message: `missing, expected a map of environments holding "${name}" (asked by --env or ${ENVIRONMENT_VARIABLE})` }] };
  }
  const { [ENVIRONMENTS]: environments, ...base } = doc;
  if (environments !== null && !isMap(environments)) {
    return { doc: base, issues: [{ path: ENVIRONMENTS, message: 'expected a map of environment name to the settings it overrides' }] };
  }
  const defined = isMap(environments) ? environments : {};
  const issues: ConfigIssue[] = [];
  for (const [env, body] of Object.entries(defined)) {
    const at = keyPath(ENVIRONMENTS, env);
    if (body !== null && !isMap(body)) issues.push({ path: at, message: 'expected a map of the settings this environment overrides' });
    else if (isMap(body) && ENVIRONMENTS in body) issues.push({ path: keyPath(at, ENVIRONMENTS), message: 'an environment cannot define environments' });
  }
  if (issues.length > 0 || name === undefined) return { doc: base, issues };
  if (!Object.hasOwn(defined, name)) {
    const names = Object.keys(defined);
    const expected = names.length === 0 ? 'no environment is defined' : `expected one of ${names.join(', ')}`;
    return { doc: base, issues: [{ path: ENVIRONMENTS, message: `no environment "${name}" (asked by --env or ${ENVIRONMENT_VARIABLE}), ${expected}` }] };
  }
  return { doc: deepMerge(base, defined[name] ?? {}), issues: [] };
}

/** `over` merged into `base`: maps key by key (recursively), anything else replaces. Builds new maps; a `__proto__` key stays a key. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over;
  const merged = new Map<string, unknown>(Object.entries(base));
  for (const [key, value] of Object.entries(over)) merged.set(key, merged.has(key) ? deepMerge(merged.get(key), value) : value);
  return Object.fromEntries(merged);
}
