/**
 * A minimal typed event emitter that runs in browsers and Node alike (no
 * `node:events`). A listener that throws does not stop the others: the error
 * goes to `onListenerError`.
 */
export class Emitter<E extends object> {
  readonly #listeners = new Map<keyof E, Set<(payload: never) => void>>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Listen to `event`; returns the function that stops listening. */
  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    const l = listener as (payload: never) => void;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  /** Listeners of `event` right now. */
  count(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Call every listener of `event` with `payload`. */
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const l of set) {
      try {
        (l as (payload: E[K]) => void)(payload);
      } catch (err) {
        if (event === 'error') continue; // an error listener that throws has nowhere left to report to
        this.#onListenerError(err);
      }
    }
  }
}
