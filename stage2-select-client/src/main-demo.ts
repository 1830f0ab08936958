// `make stage2`: the broadcast server and two scripted clients, alice and bob, in labelled windows.
// The clients run in plain (non-TTY) mode here; run `make stage2-client` in a terminal to type.
import { fileURLToPath } from 'node:url';
import {
  startDemoProcess,
  startDemoServer,
  stopDemoServer,
  type DemoProcess,
} from '../../shared/tools/demo-runner.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const client = here('./main-client.ts');
const step = (text: string) => console.log(`\n-- ${text}`);

/** Types `line`, then waits for output matching `pattern` printed after it (waitFor also sees older lines). */
function typeAndWait(window: DemoProcess, line: string, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  const from = window.lines.length;
  const stdout = window.child.stdout!;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!window.lines.slice(from).some((each) => pattern.test(each))) return;
      clearTimeout(timer);
      stdout.off('data', check);
      resolve();
    };
    const timer = setTimeout(
      () => reject(new Error(`[${window.label}] no ${pattern} after "${line}"`)),
      timeoutMs,
    );
    stdout.on('data', check); // after the runner's own listener, so window.lines is up to date
    window.type(line);
  });
}

console.log(
  'Stage 2 demo: a client that waits on the keyboard and the socket at once (one event loop, epoll).',
);
const { server, port } = await startDemoServer('server', here('./main-server.ts'));

step('alice joins');
const alice = startDemoProcess('alice', client, ['--port', String(port), '--name', 'alice']);
await alice.waitFor(/logged in as alice/);

step('bob asks for "Alice": taken (names compare without case), so he is asked again on the same connection');
const bob = startDemoProcess('bob', client, ['--port', String(port), '--name', 'Alice']);
await bob.waitFor(/your name/);
bob.type('bob');
await bob.waitFor(/logged in as bob/);
await alice.waitFor(/\* bob joined/);

step('public messages both ways: the server sends each one to everyone, its sender included');
alice.type('hi bob, welcome!');
await bob.waitFor(/\[alice\] hi bob, welcome!/);
bob.type('hello alice 👋');
await alice.waitFor(/\[bob\] hello alice/);
alice.type('your line reached me while I could still type: no blocking read');
await bob.waitFor(/\[alice\] your line reached me/);
bob.type('same here');
await alice.waitFor(/\[bob\] same here/);

step('a private message: this stage 2 server answers with an ERROR (routing arrives in stage 4)');
bob.type('@alice just between us');
await bob.waitFor(/! error: .*stage 4/);

step('bob lists who is online, then leaves with /quit; alice sees him go');
await typeAndWait(bob, '/users', /online \(2\)/);
bob.type('/quit');
const bobCode = await bob.exited;
await alice.waitFor(/\* bob left/);

step("alice's input ends (like Ctrl-D or the end of a pipe): she waits for the server, then leaves");
alice.endInput();
const aliceCode = await alice.exited;
await server.waitFor(/alice disconnected/);
const serverClean = await stopDemoServer(server);

const ok = aliceCode === 0 && bobCode === 0 && serverClean;
console.log(
  `\nStage 2 demo ${ok ? 'finished' : 'FAILED'}: alice exit ${aliceCode}, bob exit ${bobCode}, ` +
    `server ${serverClean ? 'stopped cleanly' : 'did not stop cleanly'}.`,
);
process.exit(ok ? 0 : 1);
