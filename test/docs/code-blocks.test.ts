/**
 * Every code block in README.md and docs/*.md runs as written, or says why
 * not. The blocks are read from the Markdown and checked by kind:
 *
 * - `sh`: each command line is run or checked. `curl` lines run against a
 *   real `tickwire start` on the built-in default (the address rewritten to
 *   its port) and must answer below 400; `npm run X` needs the script X;
 *   `npx tickwire CMD` needs CMD in the CLI's usage; `node FILE` runs the
 *   `js` block the text says is saved as FILE.
 * - `yaml`: loaded with the config loader (every `${VAR}` set to a sample
 *   value) and must be a valid config.
 * - `json`: a document or JSON lines (sample output) that parse.
 * - `ts`: type-checked together under the project's strict settings,
 *   `tickwire` and `tickwire/client` resolved to the sources.
 * - `js`: parsed by Node (`node --check`, as an ES module); one the text
 *   saves as a file (see above) is also run against the server.
 *
 * A block that cannot run here says so on the line before its fence:
 * `<!-- docs-test: skip <reason> -->` (the reason is required and listed).
 * Fences without a language are text (trees, diagrams) and are not run.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.ts';
import { until } from '../support/until.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');
const CODE_LANGS = new Set(['sh', 'yaml', 'js', 'ts', 'json']);

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
  skip?: string;
  /** `saved as \`NAME\`` in the paragraph before the block. */
  savedAs?: string;
}

function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const lang = open[1]!;
    if (lang === '') continue;
    const before = lines.slice(Math.max(0, start - 6), start).join('\n');
    const skip = /<!-- docs-test: skip (.*?) -->\s*$/.exec(lines[start - 1] ?? '')?.[1];
    const savedAs = /saved as `([^`]+)`/.exec(before)?.[1];
    blocks.push({ file, line: start + 1, lang, code: body.join('\n'), skip, savedAs });
  }
  return blocks;
}

const BLOCKS = markdownFiles().flatMap(blocksOf);
const where = (b: Block) => `${b.file}:${b.line}`;
const live = (lang: string) => BLOCKS.filter((b) => b.lang === lang && b.skip === undefined);

/** Sample values for `${VAR}`: secrets long enough for the checks that demand it. */
function sampleEnv(code: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of code.matchAll(/\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g)) env[m[1]!] = 's'.repeat(48);
  return env;
}

/** Command lines of an `sh` block: comments and blank lines dropped, trailing comments cut. */
function commands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ') // a line ending in a backslash continues on the next
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

let server: ChildProcess | undefined;
let port = 0;
let workdir = '';
let usage = '';

beforeAll(async () => {
  workdir = mkdtempSync(path.join(tmpdir(), 'tickwire-docs-'));
  server = spawn(process.execPath, [BIN, 'start', '--port', '0'], { cwd: workdir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout!.on('data', (d) => (out += d));
  server.stderr!.on('data', (d) => (out += d));
  await until(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(out) || server!.exitCode !== null, 30_000, 'tickwire start');
  port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  expect(port, out).toBeGreaterThan(0);
  // The CLI's usage names every command; `--help` prints it.
  const help = await run(process.execPath, [BIN, '--help']).catch((e: { stdout?: string; stderr?: string }) => e);
  usage = `${help.stdout ?? ''}${help.stderr ?? ''}`;
}, 60_000);

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  rmSync(workdir, { recursive: true, force: true });
});

/** The docs' address (localhost:8080 or 127.0.0.1:8080) rewritten to the test server's. */
const local = (text: string) => text.replace(/(localhost|127\.0\.0\.1):8080/g, `127.0.0.1:${port}`);

describe('code blocks in README.md and docs/', () => {
  it('finds the README blocks and knows every language used', () => {
    expect(BLOCKS.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(4);
    for (const b of BLOCKS) expect(CODE_LANGS.has(b.lang), `${where(b)}: unknown language "${b.lang}"`).toBe(true);
  });

  it('every skipped block gives its reason', () => {
    for (const b of BLOCKS.filter((x) => x.skip !== undefined)) expect(b.skip!.length, where(b)).toBeGreaterThan(10);
  });

  it('yaml blocks are valid configs (a section shown alone is checked with the simulated exchange added)', () => {
    const errors: string[] = [];
    for (const b of live('yaml')) {
      const text = /^exchanges:/m.test(b.code) ? b.code : `${b.code}\nexchanges: { simulated: { symbols: [SIM-BTC] } }\n`;
      try {
        loadConfigText(text, where(b), sampleEnv(b.code));
      } catch (e) {
        errors.push(String(e));
      }
    }
    expect(errors).toEqual([]);
  });

  it('json blocks parse (one document, or one per line)', () => {
    for (const b of live('json')) {
      const parses = (t: string) => {
        try {
          JSON.parse(t);
          return true;
        } catch {
          return false;
        }
      };
      const lines = b.code.split('\n').filter((l) => l.trim() !== '');
      expect(parses(b.code) || lines.every(parses), where(b)).toBe(true);
    }
  });

  it('js blocks parse as ES modules', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-docs-js-'));
    const problems: string[] = [];
    for (const b of live('js')) {
      const file = path.join(dir, `block-${b.line}.mjs`);
      writeFileSync(file, b.code);
      await run(process.execPath, ['--check', file]).catch((e: { stderr?: string }) => problems.push(`${where(b)}: ${e.stderr ?? String(e)}`));
    }
    rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });

  it('ts blocks type-check against the sources', async () => {
    const dir = path.join(ROOT, '.docs-blocks'); // outside tsconfig's include, so `npm test`'s tsc never sees it
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const b of live('ts')) {
      const name = `${b.file.replace(/[/.]/g, '_')}_${b.line}.ts`;
      // Each block is a module of its own (top-level await allowed, names do not clash).
      writeFileSync(path.join(dir, name), `${b.code}\nexport {};\n`);
      files.push(name);
    }
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        compilerOptions: {
          noEmit: true,
          allowImportingTsExtensions: true,
          paths: { tickwire: ['../src/index.ts'], 'tickwire/client': ['../src/client/index.ts'] },
        },
        files,
      }),
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', dir], { cwd: ROOT }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    rmSync(dir, { recursive: true, force: true });
    expect(result).toBe('');
  }, 120_000);

  it('sh blocks: every command runs or names a real script, command or file', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const saved = new Set(BLOCKS.filter((b) => b.savedAs !== undefined).map((b) => b.savedAs!));
    for (const b of live('sh')) {
      for (const line of commands(b.code)) {
        const at = `${where(b)}: ${line}`;
        const words = line.split(/\s+/);
        if (line === 'npm install && npm start' || line === 'npm install' || line === 'npm ci') continue; // what CI itself does
        if (words[0] === 'npm' && (words[1] === 'start' || words[1] === 'test')) {
          expect(pkg.scripts[words[1]], at).toBeDefined();
        } else if (words[0] === 'npm' && words[1] === 'run') {
          expect(pkg.scripts[words[2]!], at).toBeDefined();
        } else if (words[0] === 'npx' && words[1] === 'tickwire') {
          expect(usage, at).toContain(words[2]!);
        } else if (words[0] === 'curl') {
          const args = words.slice(1).map((w) => local(w.replace(/^'(.*)'$/, '$1')));
          const res = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
          expect(Number(res.stdout), at).toBeLessThan(400);
        } else if (words[0] === 'node' && saved.has(words[1]!)) {
          continue; // run below, with every block saved as a file
        } else {
          throw new Error(`${at}: the docs test does not know how to run this; run it here or mark the block <!-- docs-test: skip reason -->`);
        }
      }
    }
  }, 120_000);

  it('js blocks the text saves as a file run against the server and print what their comments promise', async () => {
    const saved = live('js').filter((b) => b.savedAs !== undefined);
    expect(saved.length).toBeGreaterThanOrEqual(1); // the README's stream example
    for (const b of saved) {
      const file = path.join(ROOT, `.docs-${process.pid}-${b.savedAs}`);
      writeFileSync(file, local(b.code));
      try {
        const res = await run(process.execPath, [file], { cwd: ROOT, timeout: 20_000 });
        // Each `// ← {"type":"X"...}` comment names a message the block must print.
        for (const m of b.code.matchAll(/← \{"type":"(\w+)"/g)) expect(res.stdout, `${where(b)}: ${m[1]}`).toContain(`type: '${m[1]}'`);
      } finally {
        rmSync(file, { force: true });
      }
    }
  }, 60_000);
});
