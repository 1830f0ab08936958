import { describeConformance } from '#shared/test-kit/conformance-jest';
import { createRoutingServer } from '../src/routing-server.ts';

// The black-box kit that also runs against other students' servers, private messages included.
for (const workers of [2, 0]) {
  describeConformance(
    `stage 4: conformance (workers ${workers})`,
    async () => {
      const server = createRoutingServer({ workers, log: () => {} });
      const { port } = await server.listen('127.0.0.1', 0);
      return { host: '127.0.0.1', port, close: () => server.close() };
    },
    { privateMessages: true, msgNameRules: true },
  );
}
