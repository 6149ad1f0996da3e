/**
 * One peer of the soak orchestrator (a worker thread or the gateway child
 * process, started with bench/load/peers.ts) behind one interface: send a
 * command, wait for a reply of a given type, learn when it failed or ended.
 * A peer that posts `{type:'failed'}`, errors, or exits while not asked to is
 * reported once through `onFailure`: the soak ends the run on the first
 * failure and still judges it.
 */
import type { ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';

/** Any message with a `type`. */
interface Typed {
  type: string;
}

type Waiter = { type: string; resolve: (m: Typed) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** A worker thread or child process of the soak, driven by typed commands and replies. */
export class Endpoint {
  readonly name: string;
  /** Set once the peer has ended (exit code, or the signal's name). */
  ended: Promise<number | string>;
  #send: (message: object) => void;
  #kill: () => void;
  #waiters: Waiter[] = [];
  #exited = false;
  #expectExit = false;
  #failed = false;
  #onFailure: (reason: string) => void;

  constructor(name: string, peer: Worker | ChildProcess, onFailure: (reason: string) => void) {
    this.name = name;
    this.#onFailure = onFailure;
    const onMessage = (m: Typed): void => this.#receive(m);
    if (peer instanceof Worker) {
      this.#send = (message) => peer.postMessage(message);
      this.#kill = () => void peer.terminate();
      peer.on('message', onMessage);
      peer.on('error', (err) => this.#fail(`${name} crashed: ${err.stack ?? err.message}`));
      this.ended = new Promise((resolve) => peer.once('exit', resolve));
    } else {
      this.#send = (message) => {
        if (peer.connected) peer.send(message);
      };
      this.#kill = () => void peer.kill('SIGKILL');
      peer.on('message', onMessage);
      peer.on('error', (err) => this.#fail(`${name} failed: ${err.message}`));
      this.ended = new Promise((resolve) => peer.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    }
    void this.ended.then((how) => {
      this.#exited = true;
      if (!this.#expectExit) this.#fail(`${name} exited unexpectedly (${how})`);
      this.#rejectAll(new Error(`${name} has exited`));
    });
  }

  /** Send a command. */
  send(message: object): void {
    this.#send(message);
  }

  /** The next message of `type`, within `timeoutMs`. */
  wait<T extends Typed>(type: T['type'], timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#exited) return reject(new Error(`${this.name} has exited`));
      const waiter: Waiter = {
        type,
        resolve: resolve as (m: Typed) => void,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`${this.name}: no ${type} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Send `message` and wait for the reply of `replyType`. */
  ask<T extends Typed>(message: object, replyType: T['type'], timeoutMs: number): Promise<T> {
    const reply = this.wait<T>(replyType, timeoutMs);
    this.send(message);
    return reply;
  }

  /** The peer is about to end on purpose: its exit is not a failure. */
  expectExit(): void {
    this.#expectExit = true;
  }

  /**
   * Ask the peer to end with `command`, wait up to `graceMs` for it to exit,
   * then end it by force (terminate the thread, SIGKILL the process).
   */
  async close(command: object, graceMs: number): Promise<void> {
    this.expectExit();
    if (this.#exited) return;
    this.send(command);
    const timer = setTimeout(() => this.#kill(), graceMs);
    await this.ended;
    clearTimeout(timer);
  }

  #receive(m: Typed): void {
    if (m.type === 'failed') {
      this.#fail(`${this.name}: ${(m as Typed & { message?: string }).message ?? 'failed'}`);
      return;
    }
    const i = this.#waiters.findIndex((w) => w.type === m.type);
    if (i < 0) return;
    const [w] = this.#waiters.splice(i, 1);
    clearTimeout(w!.timer);
    w!.resolve(m);
  }

  #fail(reason: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onFailure(reason);
    this.#rejectAll(new Error(reason));
  }

  #rejectAll(err: Error): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
