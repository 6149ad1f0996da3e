/**
 * The browser side, served from the package itself (no CDN: many servers
 * have no internet): the pages `/` (dashboard) and `/docs` (API reference)
 * from src/web/, and the files they load under `/assets/<file>`:
 *
 *  - our own scripts and stylesheets, named by a hash of their content
 *    (`dashboard.3f9a0c1b2d.js`), so a changed file is a new URL;
 *  - lightweight-charts and swagger-ui from node_modules, named by the
 *    installed version (`lightweight-charts-5.2.1.js`).
 *
 * Both kinds are cached by browsers for a year (`immutable`); the pages are
 * revalidated on every load (`no-cache`) and name the current asset URLs
 * (their `{{asset:<name>}}` placeholders are filled in at start). The set of
 * files is fixed at start (memory is bounded); library files are read on
 * their first request and kept. A library that is not installed fails at
 * start, naming it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ErrorCode, TickwireError } from '../errors.ts';
import { packageRoot } from './package-root.ts';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/** A file under `/assets/`. */
export interface Asset {
  readonly contentType: string;
  /** Its bytes (read on first use for library files). */
  body(): Buffer;
}

/** Our own browser files (src/web/) and the library files the pages load, by the name the pages use. */
const OWN = ['dashboard.js', 'dashboard-analytics.js', 'dashboard.css', 'docs.js', 'docs.css'];
const LIBRARIES: readonly { name: string; pkg: string; file: string }[] = [
  { name: 'lightweight-charts.js', pkg: 'lightweight-charts', file: 'dist/lightweight-charts.standalone.production.js' },
  { name: 'swagger-ui-bundle.js', pkg: 'swagger-ui-dist', file: 'swagger-ui-bundle.js' },
  { name: 'swagger-ui.css', pkg: 'swagger-ui-dist', file: 'swagger-ui.css' },
];

/** src/web/ of the package (the same folder whether the code runs from src/ or a build's dist/src/). */
function webDir(): string {
  const dir = path.join(packageRoot(), 'src', 'web');
  if (!existsSync(path.join(dir, 'dashboard.html'))) throw new TickwireError(ErrorCode.INTERNAL_ERROR, `the dashboard's files are missing from ${dir}: the package is incomplete`);
  return dir;
}

function typeOf(file: string): string {
  return TYPES[path.extname(file)] ?? 'application/octet-stream';
}

/** The pages and assets of one server. */
export class WebAssets {
  /** URL file name → asset. */
  readonly #files = new Map<string, Asset>();
  /** Page name (`dashboard`, `docs`) → HTML with the asset URLs filled in. */
  readonly #pages = new Map<string, string>();

  constructor() {
    const dir = webDir();
    const urls = new Map<string, string>();
    for (const name of OWN) {
      const bytes = readFileSync(path.join(dir, name));
      const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10);
      const ext = path.extname(name);
      const file = `${path.basename(name, ext)}.${hash}${ext}`;
      this.#files.set(file, { contentType: typeOf(name), body: () => bytes });
      urls.set(name, `/assets/${file}`);
    }
    const require = createRequire(import.meta.url);
    for (const lib of LIBRARIES) {
      let root: string;
      try {
        root = path.dirname(require.resolve(`${lib.pkg}/package.json`));
      } catch (err) {
        throw new TickwireError(ErrorCode.INTERNAL_ERROR, `${lib.pkg} is not installed (the dashboard and /docs serve it): run npm install`, { cause: err });
      }
      const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
      const ext = path.extname(lib.name);
      const file = `${path.basename(lib.name, ext)}-${version}${ext}`;
      const full = path.join(root, lib.file);
      if (!existsSync(full)) throw new TickwireError(ErrorCode.INTERNAL_ERROR, `${lib.pkg} ${version} lacks ${lib.file}: reinstall it`);
      let bytes: Buffer | undefined;
      this.#files.set(file, { contentType: typeOf(lib.name), body: () => (bytes ??= readFileSync(full)) });
      urls.set(lib.name, `/assets/${file}`);
    }
    for (const page of ['dashboard', 'docs']) {
      const html = readFileSync(path.join(dir, `${page}.html`), 'utf8').replace(/\{\{asset:([\w.-]+)\}\}/g, (_, name: string) => {
        const url = urls.get(name);
        if (url === undefined) throw new TickwireError(ErrorCode.INTERNAL_ERROR, `src/web/${page}.html names an unknown asset ${name}`);
        return url;
      });
      this.#pages.set(page, html);
    }
  }

  /** The asset served as `/assets/<file>`, undefined when there is none. */
  asset(file: string): Asset | undefined {
    return this.#files.get(file);
  }

  /** A page's HTML (`dashboard` or `docs`). */
  page(name: 'dashboard' | 'docs'): string {
    return this.#pages.get(name)!;
  }
}
