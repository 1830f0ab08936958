import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerFrame } from '#shared';
import { FrameClient } from '#shared/test-kit/frame-client';
import { createStage5Server, type Stage5Server, type Stage5ServerOptions } from '#stage5/stage5-server';
import { ChatStore } from '#stage5/store/chat-store';
import type { DocumentStore } from '#stage5/store/document-store';
import { LowdbDocumentStore } from '#stage5/store/lowdb-document-store';
import { MemoryDocumentStore } from '#stage5/store/memory-document-store';

/** scrypt at a cost tests can afford (production: N = 2^15). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
export const ALL_FEATURES = ['CODE', 'WHO', 'ACCOUNTS', 'RECEIPTS'];

/** A FrameClient that connects from a chosen loopback address (127.0.0.2 is "another machine"). */
export class AddressedClient extends FrameClient {
  static async from(port: number, localAddress: string): Promise<FrameClient> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new AddressedClient(socket);
  }
}

/** Stage 5 servers on port 0 with their clients and data directories, all cleaned up by `stop`. */
export class Stage5Fixture {
  server: Stage5Server | undefined;
  port = 0;
  log: string[] = [];
  readonly clients: FrameClient[] = [];
  readonly #dirs: string[] = [];

  dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'msg-stage5-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** Starts a server on `documents` (default: a fresh memory store). */
  async start(
    options: Partial<Stage5ServerOptions> & { documents?: DocumentStore } = {},
  ): Promise<Stage5Server> {
    const { documents, ...rest } = options;
    this.server = await createStage5Server({
      store: new ChatStore(documents ?? new MemoryDocumentStore()),
      scryptCost: TEST_SCRYPT,
      log: (line) => this.log.push(line),
      ...rest,
    });
    ({ port: this.port } = await this.server.listen('127.0.0.1', 0));
    return this.server;
  }

  lowdb(dir: string): DocumentStore {
    return new LowdbDocumentStore({ dir });
  }

  async restart(dir: string, options: Partial<Stage5ServerOptions> = {}): Promise<Stage5Server> {
    await this.stopServer();
    return this.start({ documents: this.lowdb(dir), ...options });
  }

  async connect(from = '127.0.0.1'): Promise<FrameClient> {
    const client = await AddressedClient.from(this.port, from);
    this.clients.push(client);
    return client;
  }

  /** Sends a login frame and returns the answer (accepted or not). */
  async login(frame: object, from?: string): Promise<{ client: FrameClient; answer: ServerFrame }> {
    const client = await this.connect(from);
    client.send(frame);
    const answer = await client.nextMatching((each) => each.USERNAME_ACCEPTED !== undefined);
    return { client, answer };
  }

  /** Logs in and throws if refused. */
  async loginOk(frame: object, from?: string): Promise<{ client: FrameClient; answer: ServerFrame }> {
    const result = await this.login(frame, from);
    if (!result.answer.USERNAME_ACCEPTED) throw new Error(`login refused: ${result.answer.INFO}`);
    return result;
  }

  async stopServer(): Promise<void> {
    for (const client of this.clients.splice(0)) client.destroy();
    await this.server?.close();
    this.server = undefined;
  }

  async stop(): Promise<void> {
    await this.stopServer();
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
