/**
 * Loading adapter plugins (docs/plugins.md): each entry of `plugins:` is an
 * npm package name, resolved as Node resolves it from the config file's
 * folder (its node_modules, then each parent's), or a path relative to that
 * folder. The module is loaded synchronously (`require`, which loads ES
 * modules without top-level await on Node ≥ 20.19) so a config, a reload
 * and a feed worker all load it in line; then it is checked (contract.ts)
 * and registered as the adapter of the exchange name it declares.
 *
 * A plugin is loaded once per thread: listing it again (a reload) reuses
 * it. Under `--watch` a changed file is imported afresh (`reimportPlugin`:
 * an ES module cannot be evicted from the cache, so each version stays in
 * memory — a development mode's cost) and the exchange's worker restarted,
 * which loads it in a new thread.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, PluginError } from '../errors.ts';
import { adapterFor, knownAdapterNames, registerPluginAdapter, type AdapterEntry, type PluginSource } from '../exchanges/registry.ts';
import { checkPlugin } from './contract.ts';

/**
 * Load, check and register the plugins `specifiers` (as a config lists
 * them; paths relative to `baseDir`). Returns their entries by exchange
 * name. Throws PluginError (PLUGIN_NOT_FOUND, PLUGIN_CONTRACT,
 * PLUGIN_INVALID) for the first plugin that cannot be used.
 */
export function loadPlugins(specifiers: readonly string[], baseDir: string): Map<string, AdapterEntry> {
  const loaded = new Map<string, AdapterEntry>();
  for (const specifier of specifiers) {
    const entry = checkedPlugin({ specifier, file: resolvePlugin(specifier, baseDir) });
    const name = entry.capabilities.name;
    const other = loaded.get(name);
    if (other !== undefined) {
      throw new PluginError(ErrorCode.PLUGIN_INVALID, specifier, `serves exchange ${name}, as plugin ${other.plugin!.specifier} listed before it does: list one of them`);
    }
    loaded.set(name, entry);
  }
  // All checked before any is registered: a refused list (a reload) leaves the registry as it was.
  for (const entry of loaded.values()) checkFree(entry);
  for (const entry of loaded.values()) registerPluginAdapter(entry.capabilities.name, entry);
  return loaded;
}

/**
 * The registered entry of the plugin at `source.file`, loading and
 * registering it first when this thread has not (a feed worker loads its
 * exchange's plugin this way). Throws PluginError.
 */
export function usePlugin(source: PluginSource): AdapterEntry {
  const entry = checkedPlugin(source);
  checkFree(entry);
  registerPluginAdapter(entry.capabilities.name, entry);
  return entry;
}

/** The entry of the plugin at `source.file`: the one registered from that file, else the file loaded and checked. */
function checkedPlugin(source: PluginSource): AdapterEntry {
  const known = registeredFrom(source.file);
  if (known !== undefined) return known;
  let exports: unknown;
  try {
    exports = createRequire(source.file)(source.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ERR_REQUIRE_ASYNC_MODULE' ? 'uses top-level await, which a plugin may not (tickwire loads it synchronously)' : (err as Error).message;
    throw new PluginError(ErrorCode.PLUGIN_INVALID, source.specifier, `${source.file} could not be loaded: ${why}`, { cause: err });
  }
  return checkPlugin(exports, source.specifier, source.file);
}

/**
 * Throws PLUGIN_INVALID unless `entry`'s exchange is free in this thread or
 * already served by `entry`. One exchange, one plugin file per process: a
 * running exchange's workers load the file they started with, so another
 * file for the same name needs a restart.
 */
function checkFree(entry: AdapterEntry): void {
  const name = entry.capabilities.name;
  const taken = adapterFor(name);
  if (taken === undefined || taken === entry) return;
  throw new PluginError(ErrorCode.PLUGIN_INVALID, entry.plugin!.specifier, `serves exchange ${name}, which plugin ${taken.plugin?.specifier ?? '?'} (${taken.plugin?.file ?? '?'}) already serves in this process (a restart loads the new one)`);
}

/**
 * `--watch`: import the plugin of exchange `name` again from its file (a new
 * version of the module), check it and make it that exchange's adapter.
 * Throws PluginError, leaving the running version registered, also when the
 * new version differs in what the running config was checked against (its
 * name, a channel dropped, its config keys).
 */
export async function reimportPlugin(name: string, version: number): Promise<AdapterEntry> {
  const current = adapterFor(name);
  const source = current?.plugin;
  if (source === undefined) throw new PluginError(ErrorCode.PLUGIN_NOT_FOUND, name, 'no plugin serves this exchange');
  let exports: unknown;
  try {
    exports = await import(`${pathToFileURL(source.file).href}?version=${version}`);
  } catch (err) {
    throw new PluginError(ErrorCode.PLUGIN_INVALID, source.specifier, `${source.file} could not be loaded: ${(err as Error).message}`, { cause: err });
  }
  const entry = checkPlugin(exports, source.specifier, source.file);
  const restart = restartNeeded(current!, entry);
  if (restart !== undefined) throw new PluginError(ErrorCode.PLUGIN_INVALID, source.specifier, `${restart}: a restart applies that (the running config was checked against the running version)`);
  registerPluginAdapter(name, entry);
  return entry;
}

/**
 * The file `specifier` names: a path (starting with `.`, `..` or `/`)
 * relative to `baseDir`, else a package resolved as Node does from
 * `baseDir`. Throws PLUGIN_NOT_FOUND.
 */
export function resolvePlugin(specifier: string, baseDir: string): string {
  baseDir = path.resolve(baseDir);
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    const file = path.resolve(baseDir, specifier);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new PluginError(ErrorCode.PLUGIN_NOT_FOUND, specifier, `no file at ${file} (a path is relative to the config file's folder, ${baseDir})`);
    }
    return file;
  }
  try {
    return createRequire(path.join(baseDir, 'tickwire.yaml')).resolve(specifier);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'MODULE_NOT_FOUND' ? `no package ${specifier} installed where Node looks from ${baseDir} (npm install it beside the config file, or give a path)` : (err as Error).message;
    throw new PluginError(ErrorCode.PLUGIN_NOT_FOUND, specifier, why, { cause: err });
  }
}

/** What differs between two versions of a plugin that the running config depends on, or undefined. */
function restartNeeded(current: AdapterEntry, next: AdapterEntry): string | undefined {
  if (next.capabilities.name !== current.capabilities.name) return `now serves exchange ${next.capabilities.name}, not ${current.capabilities.name}`;
  const dropped = current.capabilities.channels.filter((ch) => !next.capabilities.channels.includes(ch));
  if (dropped.length > 0) return `no longer declares ${dropped.join(', ')}`;
  const keys = (e: AdapterEntry): string => [...e.extraKeys].sort().join(', ');
  if (keys(next) !== keys(current)) return `its config keys changed (${keys(current) || 'none'} → ${keys(next) || 'none'})`;
  return undefined;
}

function registeredFrom(file: string): AdapterEntry | undefined {
  for (const name of knownAdapterNames()) {
    const entry = adapterFor(name);
    if (entry?.plugin?.file === file) return entry;
  }
  return undefined;
}
