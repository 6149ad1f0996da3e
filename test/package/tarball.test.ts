/**
 * The package as a user gets it: `npm pack` (which builds dist/ through the
 * `prepare` script), the tarball unpacked into a scratch project's
 * node_modules the way npm installs it, then a strict TypeScript program that
 * imports `tickwire` and `tickwire/client` is type-checked against the
 * shipped declarations, compiled and run: an embedded gateway on the simulated
 * exchange (its feed worker loaded from the tarball's dist/) serves a trade to
 * a `TickwireClient`. The installed `tickwire` command answers `--version`
 * from the compiled build.
 *
 * Offline by design: tests never reach the network, and `npm install` of a
 * tarball must fetch its dependencies' manifests even when they are installed.
 * So the tarball is unpacked with tar, as npm would place it, and each
 * dependency it declares is a symlink to this checkout's installed copy
 * (read-only: nothing here writes through them).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MANIFEST = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  exports: Record<string, { types: string; import: string }>;
  bin: Record<string, string>;
};
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** The program a user would write after `npm install tickwire`, checked under `strict`. */
const APP = `
import { createServer, createTickwire, type TradeEvent } from 'tickwire';
import { TickwireClient, type TradeMessage } from 'tickwire/client';

const tw = createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'] } }, timeframes: ['1m'] });
const embedded = new Promise<TradeEvent>((resolve) => tw.on('trade', resolve));
await tw.start();
const server = createServer(tw, { host: '127.0.0.1', port: 0 });
const { port } = await server.listen();
const client = new TickwireClient({ url: \`http://127.0.0.1:\${port}\` });
const streamed = new Promise<TradeMessage>((resolve) => client.subscribe(['trades:simulated:SIM-BTC'], { trade: resolve }));
const [local, remote] = await Promise.all([embedded, streamed]);
console.log(JSON.stringify({ local: local.symbol, remote: remote.symbol, price: typeof remote.price }));
await client.close();
await server.close();
await tw.stop();
process.exit(0);
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false, // the shipped .d.ts files are checked too, not only the app
    types: ['node'],
    outDir: 'out',
  },
  files: ['app.ts'],
};

let work: string;
let scratch: string;
let packed: { files: { path: string }[]; filename: string };

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'tickwire-pack-'));
  // `prepare` runs the build first: a pack from a clone that was never built must still hold dist/.
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 << 20, timeout: 240_000 });
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;

  scratch = path.join(work, 'scratch');
  const installed = path.join(scratch, 'node_modules', MANIFEST.name);
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', path.join(work, packed.filename), '-C', installed, '--strip-components=1']);
  for (const dep of [...Object.keys(MANIFEST.dependencies), '@types/node']) {
    const link = path.join(scratch, 'node_modules', dep);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules', dep), link, 'dir');
  }
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { [MANIFEST.name]: MANIFEST.version } }));
  writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  writeFileSync(path.join(scratch, 'app.ts'), APP);
}, 300_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds every file package.json exports and its bin', () => {
    const files = new Set(packed.files.map((f) => f.path));
    const named = [...Object.values(MANIFEST.exports).flatMap((e) => [e.types, e.import]), ...Object.values(MANIFEST.bin)];
    expect(named.length).toBeGreaterThan(6);
    expect(named.map((p) => p.replace(/^\.\//, '')).filter((p) => !files.has(p))).toEqual([]);
    expect(files.has('dist/workers/feed-worker.js')).toBe(true); // the worker the compiled supervisor starts
  });

  it('type-checks a strict program against tickwire and tickwire/client, which then runs', async () => {
    await run(process.execPath, [TSC, '-p', scratch], { cwd: scratch, timeout: 180_000 });
    const { stdout } = await run(process.execPath, ['out/app.js'], { cwd: scratch, timeout: 120_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ local: 'SIM-BTC', remote: 'SIM-BTC', price: 'number' });
  });

  it('installs a tickwire command that runs the compiled build', async () => {
    const bin = path.join(scratch, 'node_modules', MANIFEST.name, MANIFEST.bin['tickwire']!);
    const { stdout } = await run(process.execPath, [bin, '--version'], { cwd: scratch, timeout: 60_000 });
    expect(stdout.trim()).toMatch(new RegExp(`^tickwire ${MANIFEST.version.replace(/\./g, '\\.')} \\(compiled build, Node ${process.version}\\)`));
  });

  it('fails the type check when the app misuses the API (the check has teeth)', async () => {
    writeFileSync(path.join(scratch, 'app.ts'), `import { createTickwire } from 'tickwire';\nconst n: number = createTickwire();\nconsole.log(n);\n`);
    const failed = await run(process.execPath, [TSC, '-p', scratch, '--noEmit'], { cwd: scratch, timeout: 180_000 }).then(
      () => null,
      (err: { stdout: string }) => err.stdout,
    );
    expect(failed).toMatch(/error TS2322/);
  });
});
