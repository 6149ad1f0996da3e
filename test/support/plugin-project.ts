/**
 * A scratch project using the example Deribit adapter plugin
 * (examples/plugins/tickwire-adapter-deribit) as a user's would: the
 * plugin's folder packed with `npm pack` and unpacked into the project's
 * node_modules as npm places a package (offline: the plugin has no
 * dependencies, and tests never reach a registry), or its module copied to a
 * path beside the config.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The example plugin's folder. */
export const DERIBIT_PLUGIN = path.join(ROOT, 'examples/plugins/tickwire-adapter-deribit');

/** A new empty project folder (pushed onto `dirs` for the caller to remove). */
export function scratchProject(dirs: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-plugin-'));
  dirs.push(dir);
  return dir;
}

/** `npm pack` the example plugin and unpack it into `project`/node_modules/tickwire-adapter-deribit. */
export async function installDeribitPlugin(project: string): Promise<void> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: DERIBIT_PLUGIN, timeout: 60_000 });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  const target = path.join(project, 'node_modules', 'tickwire-adapter-deribit');
  mkdirSync(target, { recursive: true });
  await run('tar', ['-xzf', path.join(project, filename!), '-C', target, '--strip-components=1']);
}

/** Copy the example plugin's module to `project`/`relative` (a plugin given by path). */
export function copyDeribitModule(project: string, relative: string): string {
  const file = path.join(project, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(path.join(DERIBIT_PLUGIN, 'index.mjs'), file);
  return file;
}

/** Write `project`/tickwire.yaml: `plugin` listed, a deribit exchange on the fake at `url`/`restUrl`, 1s and 1m bars, no storage. */
export function writeDeribitConfig(project: string, plugin: string, url: string, restUrl: string, symbols: readonly string[]): void {
  writeFileSync(
    path.join(project, 'tickwire.yaml'),
    [
      'server: { host: 127.0.0.1, port: 0 }',
      'timeframes: [1s, 1m]',
      'storage: false',
      `plugins: [${plugin}]`,
      'exchanges:',
      '  deribit:',
      `    url: ${url}`,
      `    restUrl: ${restUrl}`,
      `    symbols: [${symbols.join(', ')}]`,
      '',
    ].join('\n'),
  );
}
