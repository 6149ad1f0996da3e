/**
 * Reading the API documents in tests: `$ref`s inlined (failing on one that
 * points nowhere), and a JSON Schema 2020-12 validator (ajv) for a schema of
 * the document, with messages that name the path and what failed.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = any;

/** The value a local `$ref` (`#/components/schemas/Bar`) points at; throws naming a dangling one. */
export function pointer(doc: Doc, ref: string): Doc {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are used: ${ref}`);
  let at: Doc = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || !(key in at)) throw new Error(`$ref ${ref} points nowhere`);
    at = at[key];
  }
  return at;
}

/** `node` with every `$ref` replaced by what it points at, recursively (the documents have no cycles). */
export function inline(doc: Doc, node: Doc, depth = 0): Doc {
  if (depth > 50) throw new Error('$ref nesting deeper than 50: a cycle?');
  if (Array.isArray(node)) return node.map((n) => inline(doc, n, depth + 1));
  if (node === null || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    const { $ref, ...rest } = node;
    return { ...inline(doc, pointer(doc, $ref), depth + 1), ...inline(doc, rest, depth + 1) };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(doc, v, depth + 1)]));
}

/** Every `$ref` string in `node`. */
export function refsIn(node: Doc, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refsIn(n, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** The `$ref`s in `doc` that point nowhere. */
export function danglingRefs(doc: Doc): string[] {
  return refsIn(doc).filter((ref) => {
    try {
      pointer(doc, ref);
      return false;
    } catch {
      return true;
    }
  });
}

/** Component schemas of `doc` that nothing in it references (`no-unused-components`). */
export function unusedSchemas(doc: Doc): string[] {
  const refs = new Set(refsIn(doc));
  return Object.keys(doc.components?.schemas ?? {}).filter((name) => !refs.has(`#/components/schemas/${name}`));
}

/** Validates values against schemas of one document (cached per schema object). */
export class SchemaChecker {
  readonly #ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  readonly #compiled = new Map<Doc, ValidateFunction>();
  readonly #doc: Doc;

  constructor(doc: Doc) {
    this.#doc = doc;
  }

  /** Problems of `value` against `schema` (a node of the document, `$ref`s allowed), empty when it conforms. */
  problems(schema: Doc, value: unknown): string[] {
    let validate = this.#compiled.get(schema);
    if (validate === undefined) {
      validate = this.#ajv.compile(inline(this.#doc, schema));
      this.#compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
}
