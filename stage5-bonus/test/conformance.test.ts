import { describeConformance } from '#shared/test-kit/conformance-jest';
import { createStage5Server } from '#stage5/stage5-server';
import { ChatStore } from '#stage5/store/chat-store';
import { MemoryDocumentStore } from '#stage5/store/memory-document-store';

// The same black-box kit as stages 3 and 4: a base-protocol client sees a base-protocol server.
describeConformance(
  'stage 5: conformance',
  async () => {
    const server = await createStage5Server({
      store: new ChatStore(new MemoryDocumentStore()),
      log: () => {},
    });
    const { port } = await server.listen('127.0.0.1', 0);
    return { host: '127.0.0.1', port, close: () => server.close() };
  },
  { privateMessages: true, msgNameRules: true },
);
