/**
 * Conflation of superseded updates on the feed (docs/scale-out.md,
 * "Conflation"): per slot (a quotes channel, a bars channel's forming bar)
 * at most one update goes out per window of `windowMs`, always the newest.
 *
 * Windows run back to back while updates flow and stop when one passes with
 * nothing to publish. A slot's first update in a window is published at
 * once (a quiet symbol's update waits for nothing); later ones in the same
 * window replace each other, and the newest is published when the window
 * ends. So a slot publishes at most once per window (on average at most one
 * update per `windowMs`), and its newest state is never more than
 * `windowMs` late. `windowMs` 0: no conflation, every update at once.
 *
 * The caller decides what is conflatable and what supersedes a waiting
 * update (`discard`); the conflator keeps no copy: it holds the newest
 * update object itself (the runtime's events are fresh objects, never
 * reused). Hot path (`offer`): a comparison and a field write, plus an
 * array push for a slot's first waiting update in a window; no clock read,
 * one timer per window.
 */

/** What the conflator keeps on each slot (the caller's object carries these fields). */
export interface ConflationSlot<V> {
  /** The newest update waiting for the window's end; undefined when none waits. */
  pending: V | undefined;
  /** The window the slot last published in (0: never). */
  window: number;
}

/** Per-slot conflation over windows of `windowMs`; see the module comment. */
export class Conflator<V, S extends ConflationSlot<V>> {
  /** Updates replaced or discarded before they were published. */
  conflated = 0;
  readonly #windowMs: number;
  readonly #publish: (slot: S, update: V) => void;
  /** The current window's number (slots compare theirs with it). */
  #window = 1;
  #timer: NodeJS.Timeout | undefined;
  /** Slots with an update waiting (some may have been discarded since); swapped with #spare at each window's end. */
  #waiting: S[] = [];
  #spare: S[] = [];

  /** `publish(slot, update)` sends an update on; it is called at once or at a window's end. */
  constructor(windowMs: number, publish: (slot: S, update: V) => void) {
    this.#windowMs = windowMs;
    this.#publish = publish;
  }

  /** A new update for `slot`: published now if the slot has not published in this window, else kept as its newest. */
  offer(slot: S, update: V): void {
    if (this.#windowMs === 0) return this.#publish(slot, update);
    if (slot.window !== this.#window) {
      slot.window = this.#window;
      this.#open();
      this.#publish(slot, update);
      return;
    }
    if (slot.pending === undefined) this.#waiting.push(slot);
    else this.conflated++;
    slot.pending = update;
  }

  /** Drop `slot`'s waiting update (superseded by something the caller publishes, or no longer publishable). */
  discard(slot: S): void {
    if (slot.pending === undefined) return;
    slot.pending = undefined;
    this.conflated++;
  }

  /** Stop: waiting updates are dropped, no timer is left. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const slot of this.#waiting) slot.pending = undefined;
    this.#waiting.length = 0;
  }

  #open(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#end, this.#windowMs);
    this.#timer.unref();
  }

  /** A window ended: the next one starts, and each waiting update is published in it. */
  readonly #end = (): void => {
    this.#timer = undefined;
    const window = ++this.#window;
    const waiting = this.#waiting;
    this.#waiting = this.#spare;
    let published = false;
    for (const slot of waiting) {
      const update = slot.pending;
      if (update === undefined) continue;
      slot.pending = undefined;
      slot.window = window;
      published = true;
      this.#publish(slot, update);
    }
    waiting.length = 0;
    this.#spare = waiting;
    if (published) this.#open();
  };
}
