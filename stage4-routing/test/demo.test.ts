import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasTmux } from '../../shared/tools/tmux-panes.ts';

const run = promisify(execFile);
const TSX = 'node_modules/.bin/tsx';
const DEMO = 'stage4-routing/src/main-demo.ts';

describe('stage 4: the make stage4 demo', () => {
  it('plays the whole conversation as labelled lines when stdout is not a terminal, and exits 0', async () => {
    const { stdout } = await run(TSX, [DEMO], {
      env: { ...process.env, MSG_DEMO_MODE: 'lines' },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/\[bob\] +\d\d:\d\d \[alice → you\] lunch at noon/);
    expect(stdout).toMatch(/\[alice\] +! error: nobody called dave has been here/);
    expect(stdout).toMatch(/\[alice\] +! error: carol is not online: last seen/);
    expect(stdout).toMatch(/\[alice\] +! error: SRC must be your own username/);
    expect(stdout).toMatch(/carol saw the private message: no; the spoof reached bob: no/);
    expect(stdout).toMatch(/Stage 4 demo finished/);
  }, 60_000);

  it('shows the server and the three clients as tmux panes, each a real terminal', async () => {
    if (!(await hasTmux())) throw new Error('tmux is required for this test (.ci/run installs it)');
    const dir = mkdtempSync(join(tmpdir(), 'msg-demo-test-'));
    try {
      const capture = join(dir, 'panes.json');
      const env = {
        ...process.env,
        MSG_DEMO_MODE: 'tmux',
        MSG_DEMO_ATTACH: '0',
        MSG_DEMO_PAUSE_MS: '50',
        MSG_DEMO_CAPTURE: capture,
      };
      await run(TSX, [DEMO], { env, timeout: 60_000 });
      const panes = JSON.parse(readFileSync(capture, 'utf8')) as Record<string, string>;
      expect(Object.keys(panes)).toEqual(['server', 'alice', 'bob', 'carol']);
      expect(panes.bob).toMatch(/\[alice → you\] lunch at noon/);
      expect(panes.carol).not.toMatch(/lunch at noon/);
      expect(panes.alice).toMatch(/carol is not online: last seen/);
      expect(panes.server).toMatch(/bob left \(0 online\)/);
      expect(panes.server).toMatch(/SIGTERM: shutting down/); // and the demo checked every exit status was 0
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
