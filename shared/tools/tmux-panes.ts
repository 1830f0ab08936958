import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A demo window: something a script can type into and watch. DemoProcess fits it too. */
export interface DemoWindow {
  readonly label: string;
  type(line: string): void | Promise<void>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface PaneSpec {
  label: string;
  /** argv of the program the pane runs (it gets a real terminal). */
  command: string[];
}

export async function hasTmux(): Promise<boolean> {
  try {
    await run('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Demo windows as tmux panes on a private tmux server (its own -S socket): the first pane on top,
 * the others side by side below it (tmux's main-horizontal layout). Each pane runs a real program
 * on a real terminal; the script types with send-keys and reads with capture-pane.
 */
export class TmuxPanes {
  readonly #dir: string;
  readonly #socket: string;
  readonly #panes = new Map<string, string>();

  private constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'msg-demo-'));
    this.#socket = join(this.#dir, 'tmux.sock');
  }

  static async open(panes: PaneSpec[], size = { columns: 200, rows: 50 }): Promise<TmuxPanes> {
    const session = new TmuxPanes();
    const [first, ...rest] = panes;
    const env = ['-e', 'NCURSES_NO_UTF8_ACS=1', '-e', 'TMUX='];
    await session.#tmux(
      'new-session',
      '-d',
      '-s',
      'msg',
      '-x',
      String(size.columns),
      '-y',
      String(size.rows),
      ...env,
      '-P',
      '-F',
      '#{pane_id}',
      first.command.map(quote).join(' '),
    );
    session.#panes.set(
      first.label,
      (await session.#tmux('display-message', '-p', '-t', 'msg', '#{pane_id}')).trim(),
    );
    for (const option of [
      ['remain-on-exit', 'on'],
      ['pane-border-status', 'top'],
      ['pane-border-format', ' #{pane_title} '],
      ['status', 'off'],
    ]) {
      await session.#tmux('set-option', '-g', ...option);
    }
    for (const pane of rest) {
      const id = (
        await session.#tmux(
          'split-window',
          '-t',
          'msg',
          ...env,
          '-P',
          '-F',
          '#{pane_id}',
          pane.command.map(quote).join(' '),
        )
      ).trim();
      session.#panes.set(pane.label, id);
      await session.#tmux('select-layout', '-t', 'msg', 'main-horizontal');
    }
    for (const [label, id] of session.#panes) await session.#tmux('select-pane', '-t', id, '-T', label);
    await session.#tmux(
      'set-option',
      '-w',
      '-t',
      'msg',
      'main-pane-height',
      String(Math.floor(size.rows * 0.4)),
    );
    await session.#tmux('select-layout', '-t', 'msg', 'main-horizontal');
    return session;
  }

  window(label: string): DemoWindow {
    const id = this.#panes.get(label);
    if (!id) throw new Error(`no pane ${label}`);
    return {
      label,
      type: async (line) => {
        await this.#tmux('send-keys', '-t', id, '-l', line);
        await this.#tmux('send-keys', '-t', id, 'Enter');
      },
      waitFor: async (pattern, timeoutMs = 15_000) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const match = (await this.capture(label)).match(pattern);
          if (match) return match;
          if (Date.now() > deadline)
            throw new Error(`[${label}] no text matching ${pattern} within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
    };
  }

  /** A line of narration in the status bar at the bottom of the window. */
  async caption(text: string): Promise<void> {
    await this.#tmux('set-option', '-g', 'status', 'on');
    await this.#tmux('set-option', '-g', 'status-left-length', '200');
    await this.#tmux('set-option', '-g', 'status-right', '');
    await this.#tmux('set-option', '-g', 'status-left', ` ${text.replace(/#/g, '##')}`);
  }

  /** Sends a key such as C-c to a pane. */
  async key(label: string, key: string): Promise<void> {
    await this.#tmux('send-keys', '-t', this.#panes.get(label)!, key);
  }

  /** The pane's text (its scrollback included), as a person would see it. */
  async capture(label: string): Promise<string> {
    return this.#tmux('capture-pane', '-p', '-J', '-S', '-500', '-t', this.#panes.get(label)!);
  }

  /** The whole window with its pane borders (what `tmux attach` shows). */
  async captureWindow(): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.#socket, 'capture-pane', '-p', '-t', 'msg']).catch(
      () => ({ stdout: '' }),
    );
    return stdout;
  }

  /** Shows the panes in this terminal until the session ends. */
  attach(): ChildProcess {
    const env = { ...process.env };
    delete env.TMUX; // attaching from inside another tmux is fine on a separate server
    return spawn('tmux', ['-S', this.#socket, 'attach-session', '-t', 'msg'], { stdio: 'inherit', env });
  }

  async close(): Promise<void> {
    await this.#tmux('kill-server').catch(() => '');
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.#socket, ...args]);
    return stdout;
  }
}
