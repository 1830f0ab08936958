import net from 'node:net';
import { FrameDecoder, encodeFrame } from '#shared';

/**
 * The benchmark's baselines: the least a raw `net` server must do to serve the base protocol's
 * broadcast and private messages, so that the stage 3 and 4 servers are measured against the cost of
 * the job itself.
 *
 * Both accept any USERNAME with {"USERNAME_ACCEPTED":true} (no USER_LIST, no USERS_JOINED, no
 * history, no validation beyond JSON.parse; a name already in use keeps its first holder), and
 * re-encode each MESSAGES frame once and send the same Buffer to every logged-in socket, the sender
 * included (as stage 3 does). A message whose DEST is not "ALL" goes, as its own frame
 * {"MESSAGES":[message]}, to the socket logged in with that name only (not echoed; dropped if nobody
 * has it), as stage 4 routes it; a frame mixing both keeps its order. No limits, no backpressure: the
 * load generator bounds what is in flight. Nagle is off (as in FramedSocket), so the two differ only
 * in how they write:
 *  - naive: one socket.write per frame per socket (a syscall each);
 *  - coalescing: frames queued per socket and written once per event-loop turn (setImmediate), as
 *    one Buffer.concat.
 */
export type BaselineWrites = 'per-frame' | 'coalesced';

const ACCEPTED = encodeFrame({ USERNAME_ACCEPTED: true });
const MAX_FRAME_BYTES = 1024 * 1024;

class Peer {
  readonly socket: net.Socket;
  queue: Buffer[] = [];
  member = false;
  name: string | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }
}

/** A message for everyone (DEST "ALL"); anything that is not a message with a string DEST counts as one. */
function isPublic(message: unknown): boolean {
  return !Array.isArray(message) || typeof message[1] !== 'string' || message[1] === 'ALL';
}

export function createBaselineServer(writes: BaselineWrites): net.Server {
  const members = new Set<Peer>();
  const byName = new Map<string, Peer>();
  const dirty = new Set<Peer>();
  let flushScheduled = false;

  const flush = (): void => {
    flushScheduled = false;
    for (const peer of dirty) {
      const { queue } = peer;
      peer.queue = [];
      if (peer.socket.destroyed) continue;
      peer.socket.write(queue.length === 1 ? queue[0] : Buffer.concat(queue));
    }
    dirty.clear();
  };

  const send =
    writes === 'per-frame'
      ? (peer: Peer, frame: Buffer): void => {
          if (!peer.socket.destroyed) peer.socket.write(frame);
        }
      : (peer: Peer, frame: Buffer): void => {
          peer.queue.push(frame);
          dirty.add(peer);
          if (flushScheduled) return;
          flushScheduled = true;
          setImmediate(flush);
        };

  // Declared once, not per frame: tsx compiles with keepNames, which costs a defineProperty for every
  // named closure created (measurable per message).
  function fanOut(messages: unknown[]): void {
    const out = encodeFrame({ MESSAGES: messages });
    for (const each of members) send(each, out);
  }

  return net.createServer((socket) => {
    socket.setNoDelay(true);
    const peer = new Peer(socket);
    const decoder = new FrameDecoder({
      maxFrameBytes: MAX_FRAME_BYTES,
      onFrame: (payload) => {
        let frame: { USERNAME?: unknown; MESSAGES?: unknown };
        try {
          frame = JSON.parse(payload.toString('utf8')) as typeof frame;
        } catch {
          return;
        }
        if (typeof frame !== 'object' || frame === null) return;
        if (typeof frame.USERNAME === 'string' && !peer.member) {
          peer.member = true;
          members.add(peer);
          if (!byName.has(frame.USERNAME)) {
            peer.name = frame.USERNAME;
            byName.set(peer.name, peer);
          }
          send(peer, ACCEPTED);
        }
        if (Array.isArray(frame.MESSAGES) && peer.member) {
          const messages = frame.MESSAGES as unknown[];
          if (messages.every(isPublic)) {
            fanOut(messages);
            return;
          }
          // Private messages: each to its recipient alone; runs of public ones still fan out as one frame.
          let run: unknown[] | undefined;
          for (const message of messages) {
            if (isPublic(message)) {
              (run ??= []).push(message);
              continue;
            }
            if (run) fanOut(run);
            run = undefined;
            const recipient = byName.get((message as unknown[])[1] as string);
            if (recipient) send(recipient, encodeFrame({ MESSAGES: [message] }));
          }
          if (run) fanOut(run);
        }
      },
      onError: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      members.delete(peer);
      if (peer.name !== undefined && byName.get(peer.name) === peer) byName.delete(peer.name);
      dirty.delete(peer);
    });
  });
}
