/**
 * Runs `scripts/soak.ts` as `npm run soak` does, in a child process, into a
 * fresh directory, for the soak tests (test/soak/soak*.test.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SoakReport } from '../../scripts/soak/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];

/** What one soak run left: its exit code, its output and the report it wrote (JSON and Markdown). */
export interface SoakRun {
  code: number | null;
  output: string;
  report: SoakReport;
  markdown: string;
}

/** Run `scripts/soak.ts` with `args` into a fresh directory; resolves with the exit code, output and the report. */
export async function runSoak(args: string[]): Promise<SoakRun> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'tickwire-soak-test-'));
  dirs.push(out);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', ...args, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('.json'));
  const md = files.find((f) => f.endsWith('.md'));
  if (json === undefined || md === undefined) throw new Error(`no report in ${out}; output:\n${output}`);
  return {
    code,
    output,
    report: JSON.parse(readFileSync(path.join(out, json), 'utf8')) as SoakReport,
    markdown: readFileSync(path.join(out, md), 'utf8'),
  };
}

/** Remove the directories of every run so far (call from `afterAll`). */
export function removeSoakRuns(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
