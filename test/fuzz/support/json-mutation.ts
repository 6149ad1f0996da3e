/**
 * Seeded mutations of JSON exchange frames, each labelled with what the
 * venue must make of it:
 *
 * - `mustReject`: invalid by construction, so the adapter must answer
 *   MALFORMED (and the feed count it). The guarantee never comes from asking
 *   the adapter: either JSON syntax decides (a strict prefix of an object is
 *   not JSON; a byte that cannot start JSON, or U+FFFD between tokens, is not
 *   JSON), or the frame's field specs do (a trade's price is a positive
 *   decimal string: `"NaN"`, `-1`, `[]` or a deleted price make it no trade
 *   the venue sends).
 * - `mayPass`: the frame may still be valid (a field the adapter does not
 *   read, a digit changed, another venue's frame): the adapter may take it or
 *   reject it, but whatever it emits must be sane and consistent.
 *
 * Values that JSON.stringify cannot write (`1e400`, `NaN`, `-0`, 30,000
 * levels of nesting, a megabyte of digits) are spliced in as raw text through
 * a placeholder.
 *
 * Invalid UTF-8: the feed counts a text frame that is not UTF-8 itself
 * (src/feed/connection.ts) and never hands it to `parse`; the adapters are
 * still given the lossy decoding (U+FFFD where the bad bytes were), as any
 * decoder without that check would give it them.
 */
import type { Prng } from '../../support/prng.ts';

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where a value sits in a parsed frame: object keys and array indices from the root. */
export type JsonPath = readonly (string | number)[];

/**
 * What a field holds on the wire. Each domain lists raw JSON texts that are
 * never a valid value of it (see INVALID below).
 */
export type Domain =
  | 'posDecimal' // decimal string > 0: a price, a trade size
  | 'nonNegDecimal' // decimal string >= 0: a quote size
  | 'posNumber' // JSON number > 0
  | 'nonNegNumber' // JSON number >= 0
  | 'epochMs' // JSON integer, epoch milliseconds
  | 'epochMsString' // string of digits, epoch milliseconds
  | 'epochUsString' // string of digits, epoch microseconds
  | 'isoTime' // RFC 3339 date-time string
  | 'tradeId' // JSON integer >= 0, at most 2^53 - 1
  | 'uint' // JSON integer >= 0 (sequence numbers)
  | 'tradeIdString' // string of digits
  | 'bigTradeId' // JSON integer >= 0 of any size (Alpaca)
  | 'bool'
  | 'symbol' // string naming an instrument: a wrong type is malformed, another name is just not ours
  | 'tag' // string telling frame kinds apart: a wrong type is malformed, another name may be another kind
  | 'id64' // non-empty string of at most 64 characters
  | 'nonEmptyString'
  | 'string' // any string
  | 'stringArray' // array of strings
  | 'array' // an array (contents checked by their own specs)
  | 'object' // an object or array container (scalars are wrong)
  | 'strictObject' // an object (scalars and arrays are wrong)
  | 'pair' // a two-element array (an order-book level)
  | { oneOf: readonly Json[] }; // one of these values exactly

/** One field an adapter must check: its place, its form, and whether leaving it out is malformed. */
export interface FieldSpec {
  path: JsonPath;
  domain: Domain;
  /** Deleting it makes the frame malformed (false: optional, or its absence makes another, valid shape). */
  required: boolean;
}

/** Shorthand for a FieldSpec. */
export function field(path: JsonPath, domain: Domain, required = true): FieldSpec {
  return { path, domain, required };
}

/** What a mutation made and what it must count as. */
export interface Mutation {
  /** The frame as the adapter receives it (text frames are strings once decoded). */
  text: string;
  /** Which mutation made it (for reports and statistics). */
  kind: string;
  mustReject: boolean;
}

/** One recorded frame of a venue, parsed once, with the fields its kind requires. */
export class Seed {
  readonly json: Json | undefined;
  readonly fields: FieldSpec[];
  /** Offsets in `text` that lie between JSON tokens (outside any string), for byte insertions. */
  readonly outside: number[] = [];
  /** Offsets in `text` inside string literals. */
  readonly inside: number[] = [];
  #paths: JsonPath[] | undefined;
  #free: JsonPath[] | undefined;
  #numbers: JsonPath[] | undefined;

  constructor(
    readonly text: string,
    fields: (json: Json) => FieldSpec[],
  ) {
    let json: Json | undefined;
    try {
      json = JSON.parse(text) as Json;
    } catch {
      json = undefined;
    }
    this.json = json;
    this.fields = json === undefined ? [] : fields(json);
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') {
          i++; // an escape: never split it
          continue;
        }
        if (c === '"') inString = false;
        else this.inside.push(i);
      } else {
        this.outside.push(i);
        if (c === '"') inString = true;
      }
    }
    if (json !== undefined) this.outside.push(text.length);
  }

  /** Every path in the frame (objects' keys and arrays' indices). */
  get paths(): JsonPath[] {
    return (this.#paths ??= allPaths(this.json ?? null));
  }

  /** Paths no field spec covers: changing them may or may not matter to the venue. */
  get freePaths(): JsonPath[] {
    return (this.#free ??= this.paths.filter((p) => !this.fields.some((f) => f.path.length <= p.length && f.path.every((step, i) => step === p[i]))));
  }

  /** Paths holding JSON numbers. */
  get numberPaths(): JsonPath[] {
    return (this.#numbers ??= this.paths.filter((p) => typeof getAt(this.json!, p) === 'number'));
  }
}

/** Build a Seed from a frame and the function giving its field specs. */
export function seed(text: string, fields: (json: Json) => FieldSpec[]): Seed {
  return new Seed(text, fields);
}

// ── hostile values (raw JSON text) ─────────────────────────────────────────

const MEGABYTE = 1 << 20;
const DEEP_LEVELS = [10_000, 20_000, 30_000];
const deepArrays = DEEP_LEVELS.map((d) => '['.repeat(d) + ']'.repeat(d));
const deepObjects = DEEP_LEVELS.map((d) => '{"\\u0000fz":'.repeat(d) + '1' + '}'.repeat(d));
const megaDigits = '"' + '7'.repeat(MEGABYTE) + '"';
const megaText = '"' + 'x'.repeat(MEGABYTE) + '"';

/** A deeply nested array or object (raw text): 10,000 levels mostly, 20,000 or 30,000 at times. */
export function deepValue(rng: Prng): string {
  const r = rng.float();
  const level = r < 0.7 ? 0 : r < 0.9 ? 1 : 2;
  return rng.chance(0.5) ? deepArrays[level]! : deepObjects[level]!;
}

/** A JSON string of a mebibyte (raw text). */
export function megabyteValue(rng: Prng): string {
  return rng.chance(0.5) ? megaDigits : megaText;
}

const NOT_STRINGS = ['null', 'true', 'false', '0', '1.5', '-1', '[]', '{}', '["x"]', '{"a":"b"}', '[[[[[[[[1]]]]]]]]'];
const NOT_NUMBERS = ['null', 'true', 'false', '"1"', '"NaN"', '"Infinity"', '""', '[]', '{}', '[1]', '{"n":1}'];
const NOT_BOOLS = ['null', '0', '1', '"true"', '"false"', '[]', '{}', '"tru"'];
const NOT_ARRAYS = ['null', 'true', '1', '"x"', '{}', '{"0":"a"}'];
const NOT_OBJECTS = ['null', 'true', 'false', '1', '-1', '"x"', '""'];

/** Decimal strings no venue sends, valid or not in other ways (signs, exponents out of range, blanks, words). */
const BAD_DECIMAL_STRINGS = [
  '""', '"NaN"', '"nan"', '"Infinity"', '"-Infinity"', '"inf"', '"-1"', '"-0.5"', '"+1"', '"abc"', '"1..2"',
  '"0x1A"', '" 1"', '"1 "', '"1,5"', '"1.2.3"', '"."', '"١٢٣"', '"1e400"', '"-1e308"', '"1e99999"', '"1_000"',
  '"' + '9'.repeat(400) + '"', '"1\\u0000"', '"\\ud800"',
];
const BAD_POSITIVE_DECIMALS = [...BAD_DECIMAL_STRINGS, '"0"', '"0.0"', '"0.00000000"'];
/** JSON numbers outside any price or size: negative, infinite (1e400 parses as Infinity), or past 1e39. */
const BAD_NUMBERS = ['-1', '-0.0001', '-1e308', '1e400', '-1e400', '1e308', '1.7976931348623157e308', '18446744073709551616e30'];
const BAD_POSITIVE_NUMBERS = [...BAD_NUMBERS, '0', '-0', '0.0', '5e-400'];
/** Epoch-ms integers that are no trade time: negative, fractional, infinite, not safe, before 2000 or after 2100. */
const BAD_EPOCH_MS = ['-1', '0', '1', '1.5', '1723161255342.5', '-1723161255342', '1e400', '1e308', '-1e308', '18446744073709551616', '9007199254740993', '99999999999999', '946684799999'];
/** Trade-id integers that are no id: negative, fractional, infinite, not safe. */
const BAD_TRADE_IDS = ['-1', '-0.5', '1.5', '1e400', '1e308', '-1e308', '18446744073709551616', '9007199254740993'];
const BAD_DIGIT_STRINGS = ['""', '"-1"', '"1.5"', '"abc"', '"1e3"', '" 1"', '"1 "', '"0x10"', '"99999999999999999"', '"١٢"', '"+5"'];
const BAD_EPOCH_MS_STRINGS = [...BAD_DIGIT_STRINGS, '"0"', '"1"', '"946684799999"', '"99999999999999"'];
const BAD_EPOCH_US_STRINGS = [...BAD_DIGIT_STRINGS, '"0"', '"1"', '"99999999999999999999"'];
const BAD_ISO_TIMES = [
  '""', '"yesterday"', '"2021-13-01T00:00:00Z"', '"2021-02-30T00:00:00.000Z"', '"2021-02-22 15:51:44Z"',
  '"2021-02-22T25:00:00Z"', '"2021-02-22T15:61:00Z"', '"2021-02-22T15:51:44"', '"0000-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59Z"', '"1970-01-01T00:00:00Z"', '"1999-12-31T23:59:59.999Z"', '"2021-02-22T15:51:44.Z"',
  '"20210222T155144Z"', '"-2021-02-22T15:51:44Z"', '"2021-02-22T15:51:44.208ZZ"',
];
const BAD_BIG_IDS = ['-1', '-0.5', '1.5', '1e400', '1e308', '-1e308', '"123"', '"\\u00011234567890123456789"', '"\\u0001abc"', '"\\u0001"'];

/** Raw JSON texts that are never a valid value of `domain` (wrong types, then wrong values of the right type). */
function invalidValues(domain: Domain): readonly string[] {
  if (typeof domain === 'object') return ONE_OF_NOISE.filter((v) => !domain.oneOf.some((o) => JSON.stringify(o) === v));
  return INVALID[domain];
}

/** Values none of the venues' enums hold (each is also a wrong-type or wrong-case variant). */
const ONE_OF_NOISE = ['null', 'true', '-1', '2', '"BUY"', '"sELL"', '""', '" buy"', '"buy "', '"x"', '[]', '{}', '"snapshot\\u0000"', '"b"', '"s"', '"Update"'];

const INVALID: Record<Exclude<Domain, { oneOf: readonly Json[] }>, readonly string[]> = {
  posDecimal: [...NOT_STRINGS, ...BAD_POSITIVE_DECIMALS],
  nonNegDecimal: [...NOT_STRINGS, ...BAD_DECIMAL_STRINGS],
  posNumber: [...NOT_NUMBERS, ...BAD_POSITIVE_NUMBERS],
  nonNegNumber: [...NOT_NUMBERS, ...BAD_NUMBERS],
  epochMs: [...NOT_NUMBERS, ...BAD_EPOCH_MS],
  epochMsString: [...NOT_STRINGS, ...BAD_EPOCH_MS_STRINGS],
  epochUsString: [...NOT_STRINGS, ...BAD_EPOCH_US_STRINGS],
  isoTime: [...NOT_STRINGS, ...BAD_ISO_TIMES],
  tradeId: [...NOT_NUMBERS, ...BAD_TRADE_IDS],
  uint: [...NOT_NUMBERS, ...BAD_TRADE_IDS],
  tradeIdString: [...NOT_STRINGS, ...BAD_DIGIT_STRINGS],
  bigTradeId: [...NOT_NUMBERS.filter((v) => v !== '"1"'), ...BAD_BIG_IDS],
  bool: NOT_BOOLS,
  symbol: NOT_STRINGS,
  tag: NOT_STRINGS,
  id64: [...NOT_STRINGS, '""', '"' + 'a'.repeat(65) + '"'],
  nonEmptyString: [...NOT_STRINGS, '""'],
  string: NOT_STRINGS,
  stringArray: [...NOT_ARRAYS, '[1]', '[null]', '["a",2]', '[["a"]]', '[{}]'],
  array: NOT_ARRAYS,
  object: NOT_OBJECTS,
  strictObject: [...NOT_OBJECTS, '[]', '[1,2]'],
  pair: [...NOT_ARRAYS, '[]', '["1"]', '["1","2","3"]'],
};

/** Values put into fields no spec covers: anything at all, valid or not there. */
const ANY_VALUES = [
  ...NOT_STRINGS, ...NOT_NUMBERS, ...BAD_POSITIVE_DECIMALS.slice(0, 12), ...BAD_EPOCH_MS, '""', '"ok"', '0', '"\\u0000"',
  '"\\ud800\\udc00"', '"\\udfff"', '1e-7', '123456789012345678901234567890', '"61837.630000000000000000000000001"',
];

/** A value that still fits `domain`'s type but is an odd choice (the adapter may take it or refuse it). */
const BORDERLINE: Partial<Record<Exclude<Domain, { oneOf: readonly Json[] }>, readonly string[]>> = {
  posDecimal: ['"1e308"', '"1e-8"', '"1E5"', '"18446744073709551616"', '"0.000000000000000000000000000001"', '"61837.630000000000000000000000001"', '"999999999999999999999999999999999999999"', '"00001"', '"1."', '".5"'],
  nonNegDecimal: ['"0"', '"0.0"', '"1e308"', '"1e-8"', '"18446744073709551616"', '"999999999999999999999999999999999999999"'],
  posNumber: ['5e-324', '1e38', '1e39', '18446744073709551616', '61837.630000000000000000000000001', '0.1'],
  nonNegNumber: ['0', '-0', '5e-324', '1e38', '1e39', '18446744073709551616'],
  epochMs: ['946684800000', '4102444799999', '4102444800000', '1723161255342', '9007199254740991'],
  tradeId: ['0', '-0', '9007199254740991', '1e3'],
  uint: ['0', '9007199254740991'],
  bigTradeId: ['0', '9007199254740991', '9007199254740992', '18446744073709551616', '123456789012345678901234567890'],
  isoTime: ['"2000-01-01T00:00:00Z"', '"2099-12-31T23:59:59.999999999Z"', '"2021-02-22T15:51:44.208+05:30"', '"2021-02-22t15:51:44z"', '"2024-02-29T00:00:00Z"', '"2021-02-22T15:51:44.123456789123Z"'],
  epochMsString: ['"946684800000"', '"4102444800000"', '"0001723161255342"'],
  tradeIdString: ['"0"', '"9007199254740991"', '"00012"'],
  symbol: ['""', '"btcusdt"', '"NOT-OURS"', '"BTC\\u0000USDT"'],
  tag: ['""', '"other"', '"TRADE"'],
};

// ── tree helpers ─────────────────────────────────────────────────────────────

const PLACEHOLDER = '\u0000@raw@';
const PLACEHOLDER_TEXT = JSON.stringify(PLACEHOLDER);

function clone(seedItem: Seed): Json {
  return JSON.parse(seedItem.text) as Json;
}

function container(root: Json, path: JsonPath): { parent: Json[] | { [key: string]: Json }; key: string | number } | undefined {
  let node: Json = root;
  for (let i = 0; i < path.length - 1; i++) {
    const step: string | number = path[i]!;
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, Json>)[step] as Json;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  return { parent: node, key: path[path.length - 1]! };
}

/** `root` as text with the value at `path` replaced by raw JSON text `raw`. */
function withRaw(root: Json, path: JsonPath, raw: string): string | undefined {
  const at = container(root, path);
  if (at === undefined) return undefined;
  (at.parent as Record<string | number, Json>)[at.key] = PLACEHOLDER;
  const text = JSON.stringify(root);
  const i = text.indexOf(PLACEHOLDER_TEXT);
  return i < 0 ? undefined : text.slice(0, i) + raw + text.slice(i + PLACEHOLDER_TEXT.length);
}

/** Every path in a parsed frame (objects' keys and arrays' indices), depth first. */
function allPaths(root: Json, prefix: (string | number)[] = [], out: JsonPath[] = []): JsonPath[] {
  if (Array.isArray(root)) {
    root.forEach((v, i) => {
      const p = [...prefix, i];
      out.push(p);
      allPaths(v, p, out);
    });
  } else if (typeof root === 'object' && root !== null) {
    for (const [k, v] of Object.entries(root)) {
      const p = [...prefix, k];
      out.push(p);
      allPaths(v, p, out);
    }
  }
  return out;
}

// ── bytes ──────────────────────────────────────────────────────────────────

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, out of range, truncated. */
const BAD_UTF8: readonly number[][] = [[0xff], [0xfe], [0x80], [0xbf], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xc3]];

/** First bytes that cannot begin a JSON text (not whitespace, not a value's first character). */
const NON_JSON_FIRST: readonly number[] = [0x00, 0x01, 0x07, 0x1b, 0x7d, 0x5d, 0x3a, 0x2c, 0x78, 0x23, 0x27, 0x3c, 0x80, 0xc3, 0xff];

/** `text` with `bytes` inserted at UTF-16 offset `at`, decoded as the feed decodes frames (lossy UTF-8: U+FFFD). */
function insertBytes(text: string, at: number, bytes: readonly number[]): string {
  const buf = Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), Buffer.from(bytes), Buffer.from(text.slice(at), 'utf8')]);
  return buf.toString('utf8');
}

// ── the mutator ────────────────────────────────────────────────────────────

/** Which size class of mutation to make: the big ones cost milliseconds each, so runs ration them. */
export type MutationSize = 'normal' | 'megabyte' | 'deep';

/** Makes mutations of a venue's seeds; `foreign` frames (other venues, other shapes) feed the wrong-shape case. */
export class FrameMutator {
  constructor(
    private readonly rng: Prng,
    private readonly foreign: readonly string[],
  ) {}

  /** A mutation of `s` that is guaranteed malformed, or may pass. */
  mutate(s: Seed, size: MutationSize = 'normal'): Mutation {
    if (size === 'megabyte') return this.megabyte(s);
    if (size === 'deep') return this.deep(s);
    for (;;) {
      const m = this.pick(s, this.rng.int(0, 15));
      if (m !== undefined) return m;
    }
  }

  private pick(s: Seed, which: number): Mutation | undefined {
    const rng = this.rng;
    const json = s.json;
    const isContainer = typeof json === 'object' && json !== null;
    switch (which) {
      case 0: {
        // Truncated: a strict prefix of a JSON object or array is never JSON.
        if (!isContainer) return undefined;
        return { text: s.text.slice(0, rng.int(0, s.text.length - 1)), kind: 'truncated', mustReject: true };
      }
      case 1: {
        // Random bytes behind a first byte no JSON text starts with.
        const bytes = Buffer.allocUnsafe(rng.int(1, 200));
        bytes[0] = rng.pick(NON_JSON_FIRST);
        for (let i = 1; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
        return { text: bytes.toString('utf8'), kind: 'random bytes', mustReject: true };
      }
      case 2: {
        // Invalid UTF-8 between tokens: U+FFFD there is a syntax error.
        if (json === undefined) return undefined;
        return { text: insertBytes(s.text, rng.pick(s.outside), rng.pick(BAD_UTF8)), kind: 'invalid UTF-8 between tokens', mustReject: true };
      }
      case 3: {
        // Invalid UTF-8 inside a string: a name or value the adapter may not read.
        if (s.inside.length === 0) return undefined;
        return { text: insertBytes(s.text, rng.pick(s.inside), rng.pick(BAD_UTF8)), kind: 'invalid UTF-8 in a string', mustReject: false };
      }
      case 4:
      case 5:
      case 6: {
        // A required or checked field with a value it never takes: wrong type, NaN, huge, negative, nested.
        const f = this.presentField(s, () => true);
        if (f === undefined) return undefined;
        const text = withRaw(clone(s), f.path, rng.pick(invalidValues(f.domain)));
        return text === undefined ? undefined : { text, kind: `invalid ${describeDomain(f.domain)}`, mustReject: true };
      }
      case 7: {
        // A required field left out.
        const f = this.presentField(s, (x) => x.required && typeof x.path[x.path.length - 1] === 'string');
        if (f === undefined) return undefined;
        const root = clone(s);
        const at = container(root, f.path);
        if (at === undefined || Array.isArray(at.parent)) return undefined;
        delete at.parent[at.key as string];
        return { text: JSON.stringify(root), kind: 'required field missing', mustReject: true };
      }
      case 8: {
        // The same key again, later, with a bad value: JSON.parse keeps the last one.
        const f = this.presentField(s, (x) => typeof x.path[x.path.length - 1] === 'string');
        if (f === undefined) return undefined;
        const key = f.path[f.path.length - 1] as string;
        const original = JSON.stringify(getAt(json!, f.path));
        const text = withRaw(clone(s), f.path, original + ',' + JSON.stringify(key) + ':' + rng.pick(invalidValues(f.domain)));
        return text === undefined ? undefined : { text, kind: 'duplicate key, bad value last', mustReject: true };
      }
      case 9: {
        // NaN / Infinity (and other non-JSON number spellings) in place of a number: not JSON.
        if (json === undefined || s.numberPaths.length === 0) return undefined;
        const text = withRaw(clone(s), rng.pick(s.numberPaths), rng.pick(['NaN', 'Infinity', '-Infinity', 'undefined', '+1', '01', '1.', '.5', '0x10', '1e', '--1']));
        return text === undefined ? undefined : { text, kind: 'non-JSON number literal', mustReject: true };
      }
      case 10: {
        // Valid JSON that is no venue's frame: scalars, empty containers, unknown keys.
        const text = rng.pick(['null', 'true', '0', '-1', '1e400', '"x"', '""', '[]', '{}', '[{}]', '[[]]', '{"\\u0000fz":1}', '{"":""}', '[null]', '"pong "', '{"__proto__":{"e":"trade"}}', '[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]']);
        return { text, kind: 'JSON of no frame shape', mustReject: true };
      }
      case 11: {
        // A field nobody specs gets anything at all (may be ignored by the adapter).
        if (json === undefined || s.freePaths.length === 0) return undefined;
        const text = withRaw(clone(s), rng.pick(s.freePaths), rng.pick(ANY_VALUES));
        return text === undefined ? undefined : { text, kind: 'unchecked field changed', mustReject: false };
      }
      case 12: {
        // A spec'd field with an odd but well-typed value (huge, tiny, many digits, other names).
        const f = this.presentField(s, (x) => typeof x.domain === 'string' && BORDERLINE[x.domain as keyof typeof BORDERLINE] !== undefined);
        if (f === undefined) return undefined;
        const text = withRaw(clone(s), f.path, rng.pick(BORDERLINE[f.domain as keyof typeof BORDERLINE]!));
        return text === undefined ? undefined : { text, kind: `borderline ${describeDomain(f.domain)}`, mustReject: false };
      }
      case 13: {
        // Characters lost, added or replaced at random: often still valid.
        let text = s.text;
        for (let n = rng.int(1, 3); n > 0; n--) {
          const i = rng.int(0, Math.max(0, text.length - 1));
          const c = rng.pick(['"', '\\', '.', '-', '0', '9', 'e', ',', ':', '{', '}', '[', ']', ' ', 'x', 'n', '\u0000', '\u2028', '\ud800']);
          const op = rng.int(0, 2);
          text = op === 0 ? text.slice(0, i) + text.slice(i + 1) : op === 1 ? text.slice(0, i) + c + text.slice(i) : text.slice(0, i) + c + text.slice(i + 1);
        }
        return { text, kind: 'characters changed', mustReject: false };
      }
      default: {
        // Valid JSON of the wrong shape: another venue's frame, or this venue's of another kind.
        if (this.foreign.length === 0) return undefined;
        return { text: rng.pick(this.foreign), kind: 'foreign frame', mustReject: false };
      }
    }
  }

  /** A spec'd field of `s` present in the frame and passing `filter`, picked at random. */
  private presentField(s: Seed, filter: (f: FieldSpec) => boolean): FieldSpec | undefined {
    if (s.json === undefined || s.fields.length === 0) return undefined;
    for (let tries = 0; tries < 8; tries++) {
      const f = this.rng.pick(s.fields);
      if (filter(f) && getAt(s.json, f.path) !== undefined) return f;
    }
    return undefined;
  }

  /** 10,000 to 30,000 levels of nesting: the whole frame, a field that holds a scalar, or an unchecked field. */
  private deep(s: Seed): Mutation {
    const rng = this.rng;
    const raw = deepValue(rng);
    const choice = rng.int(0, 2);
    if (choice === 1) {
      const f = this.presentField(s, (x) => x.domain !== 'array' && x.domain !== 'object' && x.domain !== 'strictObject');
      const text = f === undefined ? undefined : withRaw(clone(s), f.path, raw);
      if (text !== undefined) return { text, kind: 'deep nesting in a checked field', mustReject: true };
    }
    if (choice === 2 && s.json !== undefined && s.freePaths.length > 0) {
      const text = withRaw(clone(s), rng.pick(s.freePaths), raw);
      if (text !== undefined) return { text, kind: 'deep nesting in an unchecked field', mustReject: false };
    }
    return { text: raw, kind: 'deeply nested frame', mustReject: true };
  }

  /** Mebibyte-sized mutations: a whole frame of junk, or a huge value in a field. */
  private megabyte(s: Seed): Mutation {
    const rng = this.rng;
    const choice = rng.int(0, 3);
    if (choice === 0) return { text: 'x'.repeat(MEGABYTE), kind: 'megabyte of junk', mustReject: true };
    if (choice === 1) return { text: '{"\\u0000fz":' + megabyteValue(rng) + '}', kind: 'megabyte unknown frame', mustReject: true };
    if (choice === 2) {
      const f = this.presentField(s, (x) => x.domain === 'posDecimal' || x.domain === 'nonNegDecimal' || x.domain === 'symbol' || x.domain === 'isoTime');
      // A symbol of a mebibyte is just not ours; a decimal or a time that long is malformed.
      const text = f === undefined ? undefined : withRaw(clone(s), f.path, megabyteValue(rng));
      if (text !== undefined) return { text, kind: `megabyte ${describeDomain(f!.domain)}`, mustReject: f!.domain !== 'symbol' };
    }
    if (s.json !== undefined && s.freePaths.length > 0) {
      const text = withRaw(clone(s), rng.pick(s.freePaths), megabyteValue(rng));
      if (text !== undefined) return { text, kind: 'megabyte unchecked field', mustReject: false };
    }
    return { text: '[' + megabyteValue(rng) + ']', kind: 'megabyte in an array', mustReject: true };
  }
}

function getAt(root: Json, path: JsonPath): Json | undefined {
  let node: Json | undefined = root;
  for (const step of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, Json>)[step];
  }
  return node;
}

function describeDomain(d: Domain): string {
  return typeof d === 'string' ? d : `one of ${JSON.stringify(d.oneOf)}`;
}
