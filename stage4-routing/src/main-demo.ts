// `make stage4`: the graded demo. In a terminal (with tmux) the server, alice, bob and carol are
// panes side by side, each a real program on a real terminal; otherwise (a pipe, CI) the same
// session prints as labelled lines. Exits 0 by itself once every step has been seen.
// MSG_DEMO_MODE=lines|tmux forces a mode; MSG_DEMO_ATTACH=0 runs tmux mode without attaching;
// MSG_DEMO_PAUSE_MS sets the pause between steps in tmux mode; MSG_DEMO_CAPTURE=file saves the panes' text.
import { fileURLToPath } from 'node:url';
import { findFreePort, sleep, startDemoProcess, type DemoProcess } from '../../shared/tools/demo-runner.ts';
import { TmuxPanes, hasTmux } from '../../shared/tools/tmux-panes.ts';
import { playConversation, type DemoWindows } from './demo-conversation.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const NAMES = ['alice', 'bob', 'carol'] as const;

const forced = process.env.MSG_DEMO_MODE;
const useTmux = forced ? forced === 'tmux' : process.stdout.isTTY === true && (await hasTmux());
const port = await findFreePort();
const serverArgs = [here('./main-server.ts'), '--port', String(port), '--workers', '2'];
const clientArgs = (name: string) => [here('./main-client.ts'), '--port', String(port), '--name', name];

async function inLines(): Promise<boolean> {
  console.log('Stage 4 demo: routing through the server (windows: server, alice, bob, carol)\n');
  const server = startDemoProcess('server', serverArgs[0], serverArgs.slice(1));
  await server.waitFor(/listening on/);
  const clients = Object.fromEntries(
    NAMES.map((name) => [name, startDemoProcess(name, ...splitEntry(clientArgs(name)))]),
  ) as Record<(typeof NAMES)[number], DemoProcess>;
  await playConversation(
    { server, ...clients },
    {
      narrate: async (text) => console.log(`\n=== ${text}`),
      pause: () => sleep(150),
    },
  );
  const codes = await Promise.all(NAMES.map((name) => clients[name].exited));
  server.child.kill('SIGTERM');
  const serverCode = await server.exited;
  const carolSawPrivate = clients.carol.lines.some((line) => /lunch at noon/.test(line));
  const bobSawSpoof = clients.bob.lines.some((line) => /this is bob, honest/.test(line));
  console.log(
    `\n=== checks: carol saw the private message: ${carolSawPrivate ? 'YES (wrong)' : 'no'}; the spoof reached bob: ${bobSawSpoof ? 'YES (wrong)' : 'no'}`,
  );
  console.log(`=== exit codes: alice ${codes[0]}, bob ${codes[1]}, carol ${codes[2]}, server ${serverCode}`);
  return codes.every((code) => code === 0) && serverCode === 0 && !carolSawPrivate && !bobSawSpoof;
}

async function inTmux(): Promise<boolean> {
  const panes = await TmuxPanes.open({ label: 'server', command: [TSX, ...serverArgs] });
  const viewer = process.env.MSG_DEMO_ATTACH === '0' ? undefined : panes.attach();
  try {
    await panes.caption('Stage 4 demo: routing through the server');
    await panes.window('server').waitFor(/listening on/);
    for (const name of NAMES) {
      await panes.split({ label: name, command: [TSX, ...clientArgs(name)] });
      await panes.window(name).waitFor(new RegExp(`logged in as ${name}`)); // joins in a fixed order
    }
    const windows = Object.fromEntries(
      ['server', ...NAMES].map((label) => [label, panes.window(label)]),
    ) as unknown as DemoWindows;
    await playConversation(windows, {
      narrate: (text) => panes.caption(text),
      pause: () => sleep(Number(process.env.MSG_DEMO_PAUSE_MS ?? 1_500)),
    });
    // Each client has left by itself (/quit); then the server is stopped with SIGTERM (as a service
    // manager would; Ctrl-C in a pane signals tsx, its child and esbuild's service all at once).
    const clientCodes = await Promise.all(NAMES.map((name) => panes.exitStatus(name)));
    await panes.signal('server', 'SIGTERM');
    const serverCode = await panes.exitStatus('server');
    const allExitedCleanly = [...clientCodes, serverCode].every((code) => code === 0);
    console.log(
      `exit codes: alice ${clientCodes[0]}, bob ${clientCodes[1]}, carol ${clientCodes[2]}, server ${serverCode}`,
    );
    const carolSawPrivate = /lunch at noon/.test(await panes.capture('carol'));
    const bobSawSpoof = /this is bob, honest/.test(await panes.capture('bob'));
    await panes.caption(
      `Done: carol saw the private message: ${carolSawPrivate ? 'YES' : 'no'}; spoof reached bob: ${bobSawSpoof ? 'YES' : 'no'}`,
    );
    await sleep(viewer ? 4_000 : 200);
    if (process.env.MSG_DEMO_CAPTURE) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(process.env.MSG_DEMO_CAPTURE, JSON.stringify(await panes.captureAll(), null, 2));
    }
    return !carolSawPrivate && !bobSawSpoof && allExitedCleanly;
  } finally {
    await panes.close();
    viewer?.kill();
  }
}

function splitEntry(args: string[]): [string, string[]] {
  return [args[0], args.slice(1)];
}

let ok = false;
try {
  ok = useTmux ? await inTmux() : await inLines();
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}`);
}
console.log(ok ? '\nStage 4 demo finished: every step was seen.' : '\nStage 4 demo FAILED.');
process.exit(ok ? 0 : 1);
