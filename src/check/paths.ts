/**
 * Key paths of settings as messages name them (`exchanges.binance.symbols[2]`),
 * and the plain-map test every section check starts with. Bottom layer: no
 * imports, so config/ and the exchange registry can both use it.
 */

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;

/** A plain object (YAML/JSON mapping), not an array, null or a class instance. */
export function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `exchanges` + `binance` → `exchanges.binance`; odd keys are quoted: `exchanges["a b"]`. */
export function keyPath(path: string, key: string): string {
  if (!SIMPLE_KEY.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** `symbols` + 2 → `symbols[2]`. */
export function indexPath(path: string, i: number): string {
  return `${path}[${i}]`;
}
