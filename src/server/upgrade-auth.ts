/**
 * Authentication that may take a moment (a JWT checked against a JWKS the
 * first time it is seen) in front of the stream's upgrade handler, which
 * authenticates synchronously (stream.ts calls its `authenticate` once, in
 * the uWS callback, before `res.upgrade`).
 *
 * For each upgrade the authenticator is asked first:
 *  - a principal or a refusal at once (API tokens, HS256, JWTs seen
 *    before): the stream's handler runs as it always did, in the same call,
 *    and its `authenticate` is handed that outcome;
 *  - a promise: what the stream reads of `req` is copied first (uWS's `req`
 *    dies with the callback), `onAborted` is registered (uWS aborts the
 *    process on a response that goes away without one), and once the promise
 *    settles the stream's handler runs inside `res.cork` with the copy,
 *    handed the outcome (a refusal becomes its usual 401). A client that hung
 *    up meanwhile is dropped silently.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocketBehavior } from 'uWebSockets.js';
import { copyRequest } from './http-util.ts';
import type { Authenticate, Authenticator, AuthRequest, Principal } from './principal.ts';

type UpgradeHandler = NonNullable<WebSocketBehavior<unknown>['upgrade']>;

/** Headers the stream's upgrade handler reads. */
const UPGRADE_HEADERS = ['sec-websocket-key', 'sec-websocket-protocol', 'sec-websocket-extensions', 'authorization', 'origin', 'host'] as const;

type Outcome = { readonly principal: Principal } | { readonly error: unknown };

export class UpgradeAuth {
  readonly #authenticate: Authenticator;
  readonly #onError: (err: unknown, where: string) => void;
  /** The outcome for the upgrade being handed to the stream right now (set only during that synchronous call). */
  #current: Outcome | undefined = undefined;

  constructor(authenticate: Authenticator, onError: (err: unknown, where: string) => void) {
    this.#authenticate = authenticate;
    this.#onError = onError;
  }

  /** The `Authenticate` to give the stream: the outcome already reached for this upgrade. */
  readonly streamAuthenticate: Authenticate = () => {
    const outcome = this.#current;
    // Only reached through `wrap`: the stream authenticates inside the upgrade callback it wraps.
    if (outcome === undefined) throw new Error('stream authenticated outside its upgrade handler');
    if ('error' in outcome) throw outcome.error;
    return outcome.principal;
  };

  /** `upgrade` (the stream's handler), authenticating first and waiting for the authenticator when it must. */
  wrap(upgrade: UpgradeHandler): UpgradeHandler {
    return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      const request: AuthRequest = {
        authorization: req.getHeader('authorization'),
        protocol: req.getHeader('sec-websocket-protocol'),
        query: req.getQuery() ?? '',
        origin: req.getHeader('origin'),
        remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      };
      let result: Principal | Promise<Principal>;
      try {
        result = this.#authenticate(request);
      } catch (error) {
        this.#handOver({ error }, () => upgrade(res, req, context));
        return;
      }
      if (!(result instanceof Promise)) {
        this.#handOver({ principal: result }, () => upgrade(res, req, context));
        return;
      }
      const copy = copyRequest(req, UPGRADE_HEADERS, 0) as unknown as HttpRequest;
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const settle = (outcome: Outcome): void => {
        if (!aborted) res.cork(() => this.#handOver(outcome, () => upgrade(res, copy, context)));
      };
      result
        .then((principal) => settle({ principal }), (error: unknown) => settle({ error }))
        .catch((err: unknown) => this.#onError(err, '/v1/stream upgrade'));
    };
  }

  #handOver(outcome: Outcome, run: () => void | Promise<void>): void {
    this.#current = outcome;
    try {
      void run();
    } finally {
      this.#current = undefined;
    }
  }
}
