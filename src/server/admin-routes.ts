/**
 * `/v1/admin/*`: live changes without a restart (docs/operations.md).
 *
 * Access: private routes (a credential always, so an open server serves
 * none of them; `Content-Type: application/json` on every request) whose
 * credential must also hold the `admin` scope (403 FORBIDDEN without).
 *
 *  - `POST   /v1/admin/exchanges/:exchange/symbols/:symbol`: feed a symbol;
 *  - `DELETE /v1/admin/exchanges/:exchange/symbols/:symbol`: stop feeding it
 *    (its channels get `closed`, its history stays queryable);
 *  - `POST   /v1/admin/exchanges/:exchange`: feed one more exchange; the
 *    JSON body is its config section, as under `exchanges.<name>` in the
 *    YAML (an invalid one: 400 INVALID_CONFIG naming the key);
 *  - `DELETE /v1/admin/exchanges/:exchange`: stop feeding it (its channels
 *    get `closed`, its candles stay readable until a restart);
 *  - `POST   /v1/admin/reload`: re-read the config file and apply the
 *    difference (servers started from a file: the CLI hands `reload` over);
 *  - `POST   /v1/strategies/:name/resume`: judge again with a paused
 *    strategy (its failures or an operator paused it), from the next closed
 *    bar on;
 *  - `POST   /v1/strategies/:name/pause`: judge nothing more with it until
 *    it is resumed.
 *
 * The config changes answer `{"applied":[ConfigChange...]}`, the pause and
 * resume the strategy's summary; a change that would be invalid (resuming a
 * strategy that is not paused, pausing one that is) answers 409
 * CHANGE_REFUSED and changes nothing.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { ConfigChange } from '../model/events.ts';
import { ConfigError } from '../config/error.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { requireScope } from './auth.ts';
import { route, type HttpContext, type Reply } from './http-routes.ts';
import { pathParam, v1ErrorBody } from './http-util.ts';

/** Largest exchange section a POST may send, bytes (thousands of symbols fit). */
const MAX_EXCHANGE_BODY = 1024 * 1024;

/** Re-read the config and apply the difference (the CLI's; undefined: the server was not started from a file). */
export type Reload = () => ConfigChange[];

function applied(changes: ConfigChange[]): Reply {
  return { status: 200, body: JSON.stringify({ applied: changes }) };
}

/** Register the admin routes (before the catch-all 404). */
export function registerAdminRoutes(app: TemplatedApp, ctx: HttpContext, reload: Reload | undefined): void {
  const tw = ctx.tickwire;
  const SYMBOL = '/v1/admin/exchanges/:exchange/symbols/:symbol';
  route(app, ctx, 'post', SYMBOL, 'v1', 'private', (req, who) => {
    requireScope(who, 'admin');
    return applied([tw.addSymbol(pathParam(req, 0, 'exchange'), pathParam(req, 1, 'symbol'))]);
  });
  route(app, ctx, 'del', SYMBOL, 'v1', 'private', (req, who) => {
    requireScope(who, 'admin');
    return applied([tw.removeSymbol(pathParam(req, 0, 'exchange'), pathParam(req, 1, 'symbol'))]);
  });
  const EXCHANGE = '/v1/admin/exchanges/:exchange';
  route(app, ctx, 'post', EXCHANGE, 'v1', 'private', (req, who, body) => {
    requireScope(who, 'admin');
    const exchange = pathParam(req, 0, 'exchange');
    try {
      return applied([tw.addExchange(exchange, parseSection(body))]);
    } catch (err) {
      // The client's body is at fault, not the server's config: 400, with every problem named by its key.
      if (err instanceof ConfigError) return { status: 400, body: v1ErrorBody(err.code, err.message) };
      throw err;
    }
  }, MAX_EXCHANGE_BODY);
  route(app, ctx, 'del', EXCHANGE, 'v1', 'private', (req, who) => {
    requireScope(who, 'admin');
    return applied([tw.removeExchange(pathParam(req, 0, 'exchange'))]);
  });
  route(app, ctx, 'post', '/v1/strategies/:name/resume', 'v1', 'private', (req, who) => {
    requireScope(who, 'admin');
    return { status: 200, body: JSON.stringify(tw.resumeStrategy(pathParam(req, 0, 'name'))) };
  });
  route(app, ctx, 'post', '/v1/strategies/:name/pause', 'v1', 'private', (req, who) => {
    requireScope(who, 'admin');
    return { status: 200, body: JSON.stringify(tw.pauseStrategy(pathParam(req, 0, 'name'))) };
  });
  route(app, ctx, 'post', '/v1/admin/reload', 'v1', 'private', (_req, who) => {
    requireScope(who, 'admin');
    if (reload === undefined) throw new TickwireError(ErrorCode.CHANGE_REFUSED, 'change refused, nothing changed: this server was not started from a config file (nothing to re-read)');
    return applied(reload());
  });
}

/** The POST body as JSON; not JSON is an INVALID_CONFIG about the whole body. */
function parseSection(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new ConfigError('request body', [{ path: '', message: `not JSON (${(err as Error).message}), expected the exchange's config section as a JSON object` }]);
  }
}
