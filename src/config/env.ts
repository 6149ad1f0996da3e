/**
 * `${VAR}` / `${VAR:-default}` substitution in every string value of a parsed
 * YAML document, before validation (`$${` writes a literal `${`). Records
 * which paths read the environment, so their values are never printed and a
 * substituted string can stand for a number or a boolean (`port: ${PORT}`).
 */
import type { ConfigIssue } from '../check/checker.ts';
import { indexPath, isMap, keyPath } from '../check/paths.ts';

/** The environment variables are read from (`process.env` by default). */
export type Env = Readonly<Record<string, string | undefined>>;

/** What a substitution found besides the new document. */
export interface Substitution {
  issues: ConfigIssue[];
  /** Path of every string that had a reference → the variables it read (for redaction and coercion). */
  fromEnv: Map<string, string[]>;
}

// `$${` is an escaped literal; `${...}` a reference; a lone `${` an unclosed one.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const REFERENCE_BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** A copy of `node` with every reference replaced from `env`; problems and env-read paths go to `out`. */
export function substitute(node: unknown, path: string, env: Env, out: Substitution): unknown {
  if (typeof node === 'string') return node.includes('${') ? substituteString(node, path, env, out) : node;
  if (Array.isArray(node)) return node.map((v, i) => substitute(v, indexPath(path, i), env, out));
  if (isMap(node)) {
    // fromEntries defines properties, so a `__proto__` key stays a key (and is rejected as unknown).
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, keyPath(path, k), env, out)]));
  }
  return node;
}

function substituteString(value: string, path: string, env: Env, out: Substitution): string {
  const names: string[] = [];
  const result = value.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    const ref = body === undefined ? null : REFERENCE_BODY.exec(body);
    if (ref === null || (ref[2] ?? '').includes('${')) {
      out.issues.push({ path, message: 'got a malformed ${...} reference, expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)' });
      return '';
    }
    const [, name, fallback] = ref as unknown as [string, string, string | undefined];
    names.push(name);
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      out.issues.push({ path, message: `environment variable ${name} is not set, expected it set or a default (\${${name}:-default})` });
      return '';
    }
    return set;
  });
  if (names.length > 0) out.fromEnv.set(path, names);
  return result;
}
