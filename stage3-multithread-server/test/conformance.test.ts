import { describeConformance } from '#shared/test-kit/conformance-jest';
import { createChatServer } from '../src/chat-server.ts';

// The black-box kit that also runs against other students' servers. Stage 3 routes only to ALL,
// so the scenarios that need private messages are skipped here (stage 4 runs them).
for (const workers of [2, 0]) {
  describeConformance(
    `stage 3: conformance (workers ${workers})`,
    async () => {
      const server = createChatServer({ workers, log: () => {} });
      const { port } = await server.listen('127.0.0.1', 0);
      return { host: '127.0.0.1', port, close: () => server.close() };
    },
    { privateMessages: false, msgNameRules: true },
  );
}
