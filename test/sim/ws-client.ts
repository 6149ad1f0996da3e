/**
 * A recording `ws` client for the simulator tests: keeps every text frame,
 * waits for frames by predicate, and remembers every socket it opened so a
 * test's `afterEach` can close them all (`closeAllClients`).
 */
import { WebSocket, type ClientOptions } from 'ws';

const open = new Set<TestClient>();

/** One client connection with its received frames and close outcome. */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  pings = 0;
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #listeners = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.frames.push(data.toString());
      this.#notify();
    });
    ws.on('ping', () => {
      this.pings++;
      this.#notify();
    });
    ws.on('error', () => {}); // connect() reports handshake errors; later ones end in 'close'
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        open.delete(this);
        resolve({ code, reason: reason.toString() });
        this.#notify();
      });
    });
  }

  /** Connect to `url`; rejects with the handshake error (e.g. "Unexpected server response: 404"). */
  static connect(url: string, options?: ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    open.add(client);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Send an object as JSON, or a string as is. */
  send(message: object | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolve with the first frame (from index `from`) that satisfies `match`. */
  async frame(match: (text: string) => boolean, from = 0, timeoutMs = 2_000): Promise<string> {
    let found: string | undefined;
    await this.until(() => (found = this.frames.slice(from).find(match)) !== undefined, timeoutMs);
    return found!;
  }

  /** The reply carrying `"id": id` (ack or error), parsed. */
  async reply(id: unknown, timeoutMs = 2_000): Promise<Record<string, unknown>> {
    const text = await this.frame((t) => {
      const m = JSON.parse(t) as Record<string, unknown>;
      return 'id' in m && m['id'] === id && !('stream' in m);
    }, 0, timeoutMs);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** Resolve once `predicate()` holds (checked on every frame, ping and close). */
  until(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        reject(new Error(`TestClient.until: not met within ${timeoutMs} ms (${this.frames.length} frames)`));
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }
}

/** Terminate every client still open (call in afterEach). */
export async function closeAllClients(): Promise<void> {
  const clients = [...open];
  for (const c of clients) c.ws.terminate();
  await Promise.all(clients.map((c) => c.closed));
}
