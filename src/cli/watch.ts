/**
 * `tickwire start --watch` (development mode, docs/plugins.md): when the
 * module file of an adapter plugin in use changes, it is imported again and
 * checked against the contract, then each exchange it serves gets a new
 * worker, which loads the new version. Bars carry on: they live in shared
 * memory, which the new worker resumes. A version that fails the check is
 * logged and the running one kept.
 *
 * Each plugin file's folder is watched (editors often replace a file rather
 * than write it in place, which a watch on the file itself would lose), and
 * changes are debounced: one reload per burst of writes. Only the plugin's
 * entry file is watched, not the files it imports.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { TickwireRuntime } from '../api/tickwire.ts';
import { adapterFor } from '../exchanges/registry.ts';
import type { Logger } from '../log/logger.ts';
import { reimportPlugin } from '../plugins/load.ts';

/** Quiet time after the last change before a reload, ms. */
export const WATCH_DEBOUNCE_MS = 300;

/** Watch the plugin files of `runtime`'s exchanges; returns what stops watching. */
export function watchPlugins(runtime: TickwireRuntime, log: Logger, debounceMs = WATCH_DEBOUNCE_MS): () => void {
  const watchers: FSWatcher[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let version = 0;
  /** Exchanges by plugin file. */
  const byFile = new Map<string, string[]>();
  for (const name of Object.keys(runtime.config.exchanges)) {
    const file = adapterFor(name)?.plugin?.file;
    if (file !== undefined) byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  for (const [file, exchanges] of byFile) {
    let timer: NodeJS.Timeout | undefined;
    const reload = async (): Promise<void> => {
      for (const exchange of exchanges) {
        try {
          const entry = await reimportPlugin(exchange, ++version);
          await runtime.restartFeed(exchange, `plugin ${entry.plugin!.specifier} changed`);
          log.info({ event: 'plugin.reloaded', exchange, file, version: entry.version }, `${exchange}: plugin ${entry.plugin!.specifier} ${entry.version} reloaded from ${file}; worker replaced`);
        } catch (err) {
          log.error({ event: 'plugin.reload_failed', exchange, file, err }, `${exchange}: ${(err as Error).message}; the running version stays`);
        }
      }
    };
    const watcher = watch(path.dirname(file), (_event, changed) => {
      if (changed !== null && changed !== path.basename(file)) return;
      clearTimeout(timer);
      timers.delete(timer!);
      timer = setTimeout(() => {
        timers.delete(timer!);
        void reload();
      }, debounceMs);
      timers.add(timer);
    });
    watcher.on('error', (err) => log.warn({ event: 'plugin.watch_failed', file, err }, `cannot watch ${file}: ${err.message}`));
    watchers.push(watcher);
    log.info({ event: 'plugin.watching', file, exchanges }, `--watch: reloading ${exchanges.join(', ')} when ${file} changes`);
  }
  return () => {
    for (const w of watchers) w.close();
    for (const t of timers) clearTimeout(t);
  };
}
