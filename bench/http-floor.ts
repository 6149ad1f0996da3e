/**
 * The HTTP candles floor, as a child process: the thinnest server of the
 * same answers this stack allows (issue 12, goal 2), so the http benchmark
 * can say which part of a request's CPU and of the open-loop tail is the
 * kernel, uWebSockets.js and Node's event loop on this machine, and which
 * part is tickwire's. One thread, one route, no workers, no feed, no
 * timers: every `GET` on the route is answered with a fixed body, already
 * bytes, and the same headers tickwire's answer carries (uWS adds `Date`,
 * `Content-Length` and its own as it does for tickwire). Nothing of the
 * request is read beyond what uWS parses to route it; a request for any
 * other path gets uWS's default (the connection closed).
 *
 *   node --import tsx bench/http-floor.ts <path>     (forked with IPC)
 *
 * Waits for `{type:'body', headers, body}` (headers as [name, value] pairs,
 * the body base64) before listening, answers `{type:'ready', port}`; a later
 * `body` message replaces the answer between runs (the limit=50 and
 * limit=500 answers) and is acknowledged `{type:'body-set', bytes}`. Stops
 * on `{type:'stop'}`.
 */
import uWS from 'uWebSockets.js';
import { answerProbes } from './load/gateway-probe.ts';

/** The answer the floor gives, as the orchestrator sends it. */
export interface FloorBody {
  type: 'body';
  /** Headers tickwire's answer carries beyond the ones uWS writes itself. */
  headers: [string, string][];
  /** The answer's bytes, base64. */
  body: string;
}

const route = process.argv[2];
if (route === undefined || process.send === undefined) {
  console.error('usage (forked with IPC): http-floor.ts <path>');
  process.exit(2);
}

let headers: [string, string][] = [];
let body: Buffer = Buffer.alloc(0);

/** Take a new answer; true when the message was one. */
function setBody(m: { type?: string }): boolean {
  if (m.type !== 'body') return false;
  const b = m as FloorBody;
  headers = b.headers;
  body = Buffer.from(b.body, 'base64');
  return true;
}

await new Promise<void>((resolve) => {
  const first = (m: { type?: string }) => {
    if (!setBody(m)) return;
    process.off('message', first);
    resolve();
  };
  process.on('message', first);
});

const app = uWS.App();
app.get(route, (res) => {
  for (let i = 0; i < headers.length; i++) res.writeHeader(headers[i]![0], headers[i]![1]);
  res.end(body);
});

answerProbes();
let listenSocket: uWS.us_listen_socket | false = false;
app.listen('127.0.0.1', 0, (socket) => {
  listenSocket = socket;
  if (socket === false) {
    console.error('http floor: could not listen');
    process.exit(1);
  }
  process.send!({ type: 'ready', port: uWS.us_socket_local_port(socket) });
});

/** Close the listen socket (uWS aborts on exit otherwise), then exit. */
function shutdown(): void {
  if (listenSocket !== false) uWS.us_listen_socket_close(listenSocket);
  listenSocket = false;
  setImmediate(() => process.exit(0));
}
process.on('message', (m: { type?: string }) => {
  if (setBody(m)) process.send!({ type: 'body-set', bytes: body.length });
  else if (m.type === 'stop') shutdown();
});
process.on('disconnect', shutdown);
