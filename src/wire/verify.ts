/**
 * Structural verification of a received FlatBuffers buffer before any field
 * is read. The FlatBuffers JavaScript runtime has no verifier: its readers
 * trust every offset, so a truncated or corrupt frame reads garbage, and a
 * garbage vector length would make a decoder loop (and allocate) billions of
 * times. This checks, for the tables of schema/stream.fbs and
 * schema/candles.fbs, what the C++ `flatbuffers::Verifier` checks: every
 * table, vtable, inline field, string (with its terminating zero) and vector
 * lies inside the buffer, and every `(required)` field is present. After it
 * passes, the generated accessors only read inside the buffer, and the work
 * a decoder does is bounded by the buffer's size.
 *
 * The table layouts below mirror the schema, slot by slot (slot i is the
 * i-th field in declaration order, vtable entry 4 + 2i); a test compares them
 * with the .fbs files so they cannot drift apart.
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { Bar } from '../../schema/generated/tickwire/wire/bar.ts';

/** What a table slot holds: an inline scalar or struct of `size` bytes, or an offset to a string, a vector, or the message union. */
export type FieldKind =
  | { readonly inline: number }
  | { readonly string: true }
  | { readonly strings: true }
  | { readonly structs: number }
  | { readonly union: true };

export interface FieldSpec {
  /** The field's name in the schema (snake_case). */
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
}

export interface TableSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

const F64: FieldKind = { inline: 8 };
const BYTE: FieldKind = { inline: 1 };
const STR: FieldKind = { string: true };
const STRS: FieldKind = { strings: true };
const BAR: FieldKind = { inline: Bar.sizeOf() };
const BARS: FieldKind = { structs: Bar.sizeOf() };

/** A table's fields as [name, kind]: a name ending in `!` is `(required)`; the kind defaults to a double. */
function table(name: string, fields: readonly (readonly [string, FieldKind?])[]): TableSpec {
  return {
    name,
    fields: fields.map(([n, kind = F64]) => ({ name: n.replace('!', ''), kind, required: n.endsWith('!') })),
  };
}

const ID = [['id_num'], ['id_str', STR]] as const;

/** The union members of `Message.body`, by their type value (the index; 0 is NONE). */
export const BODY_TABLES: readonly TableSpec[] = [
  table('NONE', []),
  table('Trade', [['channel!', STR], ['seq'], ['exchange!', STR], ['symbol!', STR], ['trade_id'], ['price'], ['size'], ['side', BYTE], ['ts'], ['recv_ts']]),
  table('Quote', [['channel!', STR], ['seq'], ['exchange!', STR], ['symbol!', STR], ['bid_price'], ['bid_size'], ['ask_price'], ['ask_size'], ['ts'], ['recv_ts']]),
  table('BarUpdate', [['channel!', STR], ['seq'], ['exchange!', STR], ['symbol!', STR], ['timeframe!', STR], ['bar!', BAR]]),
  table('Snapshot', [['channel!', STR], ['seq'], ['bars!', BARS]]),
  table('Gap', [['channel!', STR], ['from_seq'], ['to_seq'], ['reason!', STR]]),
  table('Subscribed', [...ID, ['channels!', STRS], ['epoch!', STR]]),
  table('Unsubscribed', [...ID, ['channels!', STRS]]),
  table('ErrorReply', [...ID, ['code!', STR], ['message!', STR]]),
  table('Pong', [...ID]),
  table('System', [['seq'], ['exchange!', STR], ['state!', STR], ['reconnects'], ['restarts'], ['last_error', STR], ['ts']]),
  table('Alert', [['seq'], ['id!', STR], ['level', BYTE], ['source!', STR], ['message!', STR], ['ts']]),
  table('StorageState', [['seq'], ['state!', STR], ['reason', STR], ['errno', STR], ['corrupt', STR], ['moved_to', STR], ['ts']]),
];

/** The root of a stream message. */
export const MESSAGE_TABLE: TableSpec = table('Message', [['body_type', BYTE], ['body!', { union: true }]]);

/** The root of an HTTP candles response. */
export const CANDLES_TABLE: TableSpec = table('Candles', [['exchange!', STR], ['symbol!', STR], ['timeframe!', STR], ['candles!', BARS]]);

/** Root offset + file identifier. */
const HEADER_BYTES = 8;

// ── compiled layouts: the specs as flat arrays, so verifying builds no strings unless it fails ──

const INLINE = 0;
const STRING = 1;
const STRINGS = 2;
const STRUCTS = 3;
const UNION = 4;

interface Compiled {
  readonly spec: TableSpec;
  /** Per slot: INLINE, STRING, STRINGS, STRUCTS or UNION. */
  readonly kinds: readonly number[];
  /** Per slot: inline size, or struct size of a vector's elements. */
  readonly sizes: readonly number[];
  readonly required: readonly boolean[];
  /** Slot of the union's type byte (`<name>_type`), -1 when the table has no union. */
  readonly unionTypeSlot: number;
}

/** Flatten a spec for the verifier's loop. */
function compile(spec: TableSpec): Compiled {
  const kinds: number[] = [];
  const sizes: number[] = [];
  for (const f of spec.fields) {
    const k = f.kind;
    let kind: number;
    let size = 0;
    if ('inline' in k) {
      kind = INLINE;
      size = k.inline;
    } else if ('string' in k) {
      kind = STRING;
    } else if ('strings' in k) {
      kind = STRINGS;
      size = 4;
    } else if ('structs' in k) {
      kind = STRUCTS;
      size = k.structs;
    } else {
      kind = UNION;
    }
    kinds.push(kind);
    sizes.push(size);
  }
  const union = spec.fields.findIndex((f) => 'union' in f.kind);
  const unionTypeSlot = union < 0 ? -1 : spec.fields.findIndex((f) => f.name === spec.fields[union]!.name + '_type');
  return { spec, kinds, sizes, required: spec.fields.map((f) => f.required), unionTypeSlot };
}

const MESSAGE = compile(MESSAGE_TABLE);
const BODIES = BODY_TABLES.map(compile);
const CANDLES = compile(CANDLES_TABLE);

/** A rejected buffer: INVALID_PARAMETER naming what is wrong. */
function corrupt(what: string, why: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, `invalid FlatBuffers ${what}: ${why}`);
}

/** Pseudo slots naming the parts of a table that are not fields (error messages only). */
const TABLE = -1;
const VTABLE = -2;

/** What `slot` of `t` is, for an error message. */
function part(t: Compiled | null, slot: number): string {
  if (t === null) return 'root offset';
  if (slot === TABLE) return `${t.spec.name} table`;
  if (slot === VTABLE) return `${t.spec.name} vtable`;
  return `${t.spec.name}.${t.spec.fields[slot]!.name}`;
}

/**
 * Checks one buffer against the compiled layouts; throws a TickwireError
 * (INVALID_PARAMETER) naming what is wrong. No closures and no strings on the
 * success path: it runs once per received message.
 */
class Verifier {
  readonly b: Uint8Array;
  readonly what: string;

  constructor(bytes: Uint8Array, what: string) {
    this.b = bytes;
    this.what = what;
  }

  fail(why: string): never {
    throw corrupt(this.what, why);
  }

  /** `size` bytes at `pos` lie inside the buffer; (t, slot) name them when they do not. */
  inside(pos: number, size: number, t: Compiled | null, slot: number): void {
    if (pos < 0 || size < 0 || pos + size > this.b.length) {
      this.fail(`${part(t, slot)} at byte ${pos} (${size} bytes) is outside the ${this.b.length}-byte buffer`);
    }
  }

  u16(pos: number): number {
    return this.b[pos]! | (this.b[pos + 1]! << 8);
  }

  /** The u32 at `pos`, which must lie inside the buffer. */
  u32(pos: number, t: Compiled | null, slot: number): number {
    this.inside(pos, 4, t, slot);
    const b = this.b;
    return (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16) | (b[pos + 3]! << 24)) >>> 0;
  }

  /** The header: root offset, file identifier; returns the root table's position. */
  root(identifier: string): number {
    const b = this.b;
    if (b.length < HEADER_BYTES) this.fail(`${b.length} bytes is shorter than a FlatBuffers header`);
    for (let i = 0; i < 4; i++) {
      if (b[4 + i] !== identifier.charCodeAt(i)) this.fail(`file identifier is not "${identifier}"`);
    }
    return this.u32(0, null, 0);
  }

  /** Verify the table at `pos`; returns the union type when the table has one (else 0). */
  table(pos: number, t: Compiled, unionMembers: readonly Compiled[] | null): number {
    const vt = pos - (this.u32(pos, t, TABLE) | 0);
    this.inside(vt, 4, t, VTABLE);
    const vtSize = this.u16(vt);
    const objSize = this.u16(vt + 2);
    if (vtSize < 4 || (vtSize & 1) !== 0) this.fail(`${t.spec.name} vtable size ${vtSize} is invalid`);
    this.inside(vt, vtSize, t, VTABLE);
    if (objSize < 4) this.fail(`${t.spec.name} table size ${objSize} is invalid`);
    this.inside(pos, objSize, t, TABLE);
    const kinds = t.kinds;
    const sizes = t.sizes;
    let unionType = 0;
    for (let i = 0; i < kinds.length; i++) {
      const entry = 4 + 2 * i;
      const off = entry < vtSize ? this.u16(vt + entry) : 0;
      if (off === 0) {
        if (t.required[i]) this.fail(`required field ${part(t, i)} is missing`);
        continue;
      }
      const kind = kinds[i]!;
      if (kind === INLINE) {
        if (off + sizes[i]! > objSize) this.fail(`${part(t, i)} lies outside its table`);
        if (i === t.unionTypeSlot) unionType = this.b[pos + off]!;
        continue;
      }
      if (off + 4 > objSize) this.fail(`${part(t, i)} lies outside its table`);
      const at = pos + off;
      const target = at + this.u32(at, t, i);
      if (kind === STRING) this.string(target, t, i);
      else if (kind === STRINGS) this.strings(target, t, i);
      else if (kind === STRUCTS) this.vector(target, sizes[i]!, t, i);
      else {
        const member = unionMembers === null ? undefined : unionMembers[unionType];
        if (unionType === 0 || member === undefined) this.fail(`message type ${unionType} is unknown (a newer server?)`);
        this.table(target, member, null);
      }
    }
    return unionType;
  }

  string(pos: number, t: Compiled, slot: number): void {
    const len = this.u32(pos, t, slot);
    this.inside(pos + 4, len + 1, t, slot);
    if (this.b[pos + 4 + len] !== 0) this.fail(`${part(t, slot)} is not zero-terminated`);
  }

  /** A vector of `elemSize`-byte elements; returns its length. */
  vector(pos: number, elemSize: number, t: Compiled, slot: number): number {
    const n = this.u32(pos, t, slot);
    this.inside(pos + 4, n * elemSize, t, slot);
    return n;
  }

  strings(pos: number, t: Compiled, slot: number): void {
    const n = this.vector(pos, 4, t, slot);
    for (let i = 0; i < n; i++) {
      const elem = pos + 4 + 4 * i;
      this.string(elem + this.u32(elem, t, slot), t, slot);
    }
  }
}

/** Verify a stream message buffer; returns the `Message.body` union type (a valid member, never NONE). */
export function verifyMessage(bytes: Uint8Array): number {
  const v = new Verifier(bytes, 'stream message');
  return v.table(v.root('TWS1'), MESSAGE, BODIES);
}

/** Verify a candles response buffer. */
export function verifyCandles(bytes: Uint8Array): void {
  const v = new Verifier(bytes, 'candles response');
  v.table(v.root('TWC1'), CANDLES, null);
}
