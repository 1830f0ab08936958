/** An event name -> the listener's argument list, e.g. `{ joined: [names: string[]] }`. */
export type EventArgs<Events> = { [K in keyof Events]: unknown[] };

// Any listener; emit() calls each with the arguments its event declares.
type Listener = (...args: never) => void;

/**
 * A minimal typed event emitter. Not node:events on purpose: an EventEmitter throws when 'error' is
 * emitted with no listener, and a client must never crash on a bad frame from the server.
 */
export class TypedEmitter<Events extends EventArgs<Events>> {
  readonly #listeners = new Map<keyof Events, Set<Listener>>();

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    // A copy: a listener may remove itself (or another) while we iterate.
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      (listener as unknown as (...args: Events[E]) => void)(...args);
    }
  }
}
