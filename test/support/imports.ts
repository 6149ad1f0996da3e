/**
 * The import graph of the TypeScript sources, read as text: what the layering
 * and browser-safety tests walk. Comments are stripped first so a commented-out
 * import never counts.
 */
import { readFileSync } from 'node:fs';

export interface ImportRef {
  /** The module specifier as written (`../model/records.ts`, `ws`). */
  spec: string;
  /** Erased at compile time (`import type`, `export type`): no runtime edge. */
  typeOnly: boolean;
}

/** Every module one file imports or re-exports, static or dynamic, with whether the edge is type-only. */
export function importsOf(file: string): ImportRef[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: ImportRef[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]/gm)) {
    out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

/** Runtime module specifiers of one file (type-only imports and exports are erased, so skipped). */
export function runtimeImports(file: string): string[] {
  return importsOf(file)
    .filter((i) => !i.typeOnly)
    .map((i) => i.spec);
}
