import { decodePayload, type ServerFrame } from '#shared';
import type { Outbox } from './hub.ts';
import type { ConnId } from './thread-messages.ts';

/**
 * The in-memory Outbox for sans-I/O tests: it decodes and keeps what each connection would receive.
 * `lose(conn)` makes that connection's frames fail as if it vanished with them in flight.
 */
export class RecordingOutbox implements Outbox {
  readonly #inbox = new Map<ConnId, ServerFrame[]>();
  readonly #closed = new Set<ConnId>();
  readonly #inFlight = new Map<ConnId, (() => void)[]>();

  send(conn: ConnId, frame: Buffer, onUndelivered?: () => void): boolean {
    if (this.#closed.has(conn)) return false;
    const frames = this.#inbox.get(conn) ?? [];
    frames.push(decodePayload(frame.subarray(4)) as ServerFrame);
    this.#inbox.set(conn, frames);
    if (onUndelivered) this.#inFlight.set(conn, [...(this.#inFlight.get(conn) ?? []), onUndelivered]);
    return true;
  }

  close(conn: ConnId): void {
    this.#closed.add(conn);
  }

  /** What `conn` received since the last take. */
  take(conn: ConnId): ServerFrame[] {
    const frames = this.#inbox.get(conn) ?? [];
    this.#inbox.set(conn, []);
    return frames;
  }

  /** The connection vanishes: frames still in flight to it are reported undelivered. */
  lose(conn: ConnId): void {
    this.#closed.add(conn);
    for (const receipt of this.#inFlight.get(conn) ?? []) receipt();
    this.#inFlight.delete(conn);
    this.#inbox.delete(conn);
  }
}
