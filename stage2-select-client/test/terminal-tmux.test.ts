import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { messageWithText, startChat } from './chat-fixture.ts';

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const CLIENT = fileURLToPath(new URL('../src/main-client.ts', import.meta.url));
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasTmux)
  console.warn('stage 2: tmux is not installed, the real-terminal test is skipped (.ci/run installs it)');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('stage 2: the client in a real terminal (tmux)', () => {
  let chat: Awaited<ReturnType<typeof startChat>>;
  let dir: string;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-S', join(dir, 'socket'), ...args], { encoding: 'utf8' });
  /** The visible screen, one string per row, trailing blanks trimmed. */
  const screen = () =>
    tmux('capture-pane', '-p')
      .split('\n')
      .map((row) => row.trimEnd());
  /** tmux has no "wait until the screen shows X": look every 50 ms, for at most `timeoutMs`. */
  async function waitForScreen(pattern: RegExp, timeoutMs = 8_000): Promise<string[]> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
      const rows = screen();
      if (pattern.test(rows.join('\n'))) return rows;
    }
    throw new Error(`the terminal never showed ${pattern}:\n${screen().join('\n')}`);
  }

  beforeEach(async () => {
    chat = await startChat();
    dir = mkdtempSync(join(tmpdir(), 'msg-stage2-tmux-'));
  });
  afterEach(async () => {
    try {
      tmux('kill-server');
    } catch {
      // the session had already ended
    }
    rmSync(dir, { recursive: true, force: true });
    await chat.stop();
  });

  (hasTmux ? it : it.skip)(
    'shows a pushed message above a half-typed line that wraps, and keeps that line and its cursor',
    async () => {
      const command = `${TSX} ${CLIENT} --port ${chat.port} --name alice`;
      tmux('new-session', '-d', '-x', '60', '-y', '12', command);
      await waitForScreen(/type \/help/);
      const draft = 'abcdefghij'.repeat(8); // 80 characters + the prompt: two rows of 60
      tmux('send-keys', '-l', draft);
      await waitForScreen(/abcdefghij$/m);
      tmux('send-keys', 'Left', 'Left', 'Left');
      await sleep(100);

      const bob = await chat.join('bob');
      bob.sendPublic('pushed while alice types');
      const rows = await waitForScreen(/\[bob\] pushed while alice types\n> abcdefghij/);
      const at = rows.findIndex((row) => row.endsWith('[bob] pushed while alice types'));
      expect(rows[at - 1]).toBe('* bob joined'); // the first line printed over the draft: no gap either
      const typed = `> ${draft}`;
      expect(rows.slice(at + 1, at + 3)).toEqual([typed.slice(0, 60), typed.slice(60)]); // redrawn, no gap
      const leftovers = rows.filter(
        (row, index) => index !== at + 1 && index !== at + 2 && /[a-j]{5}/.test(row),
      );
      expect(leftovers).toEqual([]); // the old rows of the draft were cleared, not left behind

      const sent = messageWithText(bob, `${draft.slice(0, -3)}!${draft.slice(-3)}`);
      tmux('send-keys', '!'); // lands where the cursor was left: three from the end
      await sleep(50);
      tmux('send-keys', 'Enter');
      await sent;
    },
    20_000,
  );
});
