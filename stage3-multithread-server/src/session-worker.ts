import { parentPort, workerData } from 'node:worker_threads';
import { Session } from './session.ts';
import type { ConnId, FromWorker, SessionIntent, ToWorker, WorkerData } from './thread-messages.ts';

/**
 * A worker thread's loop: the Sessions of the connections assigned to it. Batches arrive once per
 * main-thread turn; answers go back once per worker turn. A non-protocol exception is not caught:
 * it kills the worker, and the main thread replaces it and tells the affected clients.
 */
const port = parentPort!;
const { options } = workerData as WorkerData;
const sessions = new Map<ConnId, Session>();
let out: { conn: ConnId; intent: SessionIntent }[] = [];
let done: ConnId[] = [];
let flushScheduled = false;

function emit(conn: ConnId, intents: SessionIntent[]): void {
  for (const intent of intents) out.push({ conn, intent });
}

function flush(): void {
  flushScheduled = false;
  const message: FromWorker = { type: 'intents', items: out, done };
  out = [];
  done = [];
  port.postMessage(message);
}

port.on('message', (batch: ToWorker[]) => {
  for (const item of batch) {
    switch (item.type) {
      case 'open':
        sessions.set(item.conn, new Session(options));
        break;
      case 'frame': {
        const session = sessions.get(item.conn);
        if (session) emit(item.conn, session.handleFrame(item.payload));
        done.push(item.conn);
        break;
      }
      case 'hub': {
        const session = sessions.get(item.conn);
        if (session) emit(item.conn, session.handleReply(item.reply));
        done.push(item.conn);
        break;
      }
      case 'close':
        sessions.delete(item.conn);
        break;
    }
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
});

port.postMessage({ type: 'ready' } satisfies FromWorker);
