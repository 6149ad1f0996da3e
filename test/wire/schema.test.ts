/**
 * The schema is the single source of the binary format: the committed
 * generated TypeScript must be what `npm run schema` produces now, and the
 * decoder's structural verifier must describe the same tables, field by field.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GENERATED_DIR, SCHEMA_DIR, writeSchemaCode } from '../../schema/codegen.ts';
import { Bar } from '../../schema/generated/tickwire/wire/bar.ts';
import { Body } from '../../schema/generated/tickwire/wire/body.ts';
import { BODY_TABLES, CANDLES_TABLE, MESSAGE_TABLE, type FieldKind, type TableSpec } from '../../src/wire/verify.ts';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

describe('generated code', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tickwire-schema-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('schema/generated is what `npm run schema` generates from schema/*.fbs now', async () => {
    const written = await writeSchemaCode(tmp);
    expect(written.length).toBeGreaterThan(0);
    const fresh = listFiles(tmp);
    const committed = listFiles(GENERATED_DIR);
    const problems: string[] = [];
    for (const file of fresh) {
      if (!committed.includes(file)) problems.push(`schema/generated/${file} is missing`);
      else if (readFileSync(join(tmp, file), 'utf8') !== readFileSync(join(GENERATED_DIR, file), 'utf8')) {
        problems.push(`schema/generated/${file} is stale`);
      }
    }
    for (const file of committed) if (!fresh.includes(file)) problems.push(`schema/generated/${file} is no longer generated`);
    expect(problems, 'run `npm run schema` and commit schema/generated').toEqual([]);
  });
});

// ── the verifier's table layouts against the .fbs text ─────────────────────

interface ParsedSchema {
  tables: Map<string, TableSpec>;
  unions: Map<string, string[]>;
}

/** A minimal reader of the schema subset tickwire uses: tables, structs, byte enums, one union. */
function parseSchemas(): ParsedSchema {
  const text = readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.fbs'))
    .map((f) => readFileSync(join(SCHEMA_DIR, f), 'utf8').replace(/\/\/.*$/gm, ''))
    .join('\n');
  const byteEnums = new Set([...text.matchAll(/enum\s+(\w+)\s*:\s*u?byte/g)].map((m) => m[1]!));
  const structs = new Set([...text.matchAll(/struct\s+(\w+)\s*\{/g)].map((m) => m[1]!));
  const unions = new Map<string, string[]>();
  for (const m of text.matchAll(/union\s+(\w+)\s*\{([^}]*)\}/g)) {
    unions.set(m[1]!, m[2]!.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  }
  const structSize = (name: string): number => {
    if (name !== 'Bar') throw new Error(`struct ${name}: add its size here`);
    return Bar.sizeOf();
  };
  const kindOf = (type: string): FieldKind[] => {
    if (type === 'double') return [{ inline: 8 }];
    if (type === 'string') return [{ string: true }];
    if (type === '[string]') return [{ strings: true }];
    if (byteEnums.has(type)) return [{ inline: 1 }];
    if (structs.has(type)) return [{ inline: structSize(type) }];
    const vec = /^\[(\w+)\]$/.exec(type);
    if (vec !== null && structs.has(vec[1]!)) return [{ structs: structSize(vec[1]!) }];
    if (unions.has(type)) return [{ inline: 1 }, { union: true }];
    throw new Error(`field type ${type}: not handled by this reader`);
  };
  const tables = new Map<string, TableSpec>();
  for (const m of text.matchAll(/table\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields: TableSpec['fields'][number][] = [];
    for (const f of m[2]!.matchAll(/(\w+)\s*:\s*([\w[\]]+)\s*(?:=\s*[\w.-]+\s*)?(\([^)]*\))?\s*;/g)) {
      const [, name, type, attrs] = f;
      const required = attrs?.includes('required') ?? false;
      const kinds = kindOf(type!);
      if (kinds.length === 2) {
        fields.push({ name: `${name}_type`, kind: kinds[0]!, required: false });
        fields.push({ name: name!, kind: kinds[1]!, required });
      } else fields.push({ name: name!, kind: kinds[0]!, required });
    }
    tables.set(m[1]!, { name: m[1]!, fields });
  }
  return { tables, unions };
}

describe('verifier layouts', () => {
  const schema = parseSchemas();

  it('Message and Candles match the schema', () => {
    expect(MESSAGE_TABLE).toEqual(schema.tables.get('Message'));
    expect(CANDLES_TABLE).toEqual(schema.tables.get('Candles'));
  });

  it('every union member matches its table, in union order, at its generated type value', () => {
    const members = schema.unions.get('Body')!;
    expect(BODY_TABLES.map((t) => t.name)).toEqual(['NONE', ...members]);
    BODY_TABLES.forEach((spec, value) => {
      expect(Body[value], `type value ${value}`).toBe(spec.name);
      if (value > 0) expect(spec, spec.name).toEqual(schema.tables.get(spec.name));
    });
  });
});
