import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/** Runs the program, then says how it ended: tmux's own "Pane is dead" status is not reliable. */
function shellCommand(pane: PaneSpec): string {
  return `${pane.command.map(quote).join(' ')}; printf '\\n[exited with status %s]\\n' $?`;
}

const EXITED = /\[exited with status (\d+)\]/;

// TMUX unset: the panes' programs must not think they run inside the caller's own tmux.
const PANE_ENV = ['-e', 'NCURSES_NO_UTF8_ACS=1', '-e', 'TMUX='];

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

  /** Starts the private tmux server with one pane; `split` adds the others below it. */
  static async open(first: PaneSpec, size = { columns: 200, rows: 50 }): Promise<TmuxPanes> {
    const session = new TmuxPanes();
    const { columns, rows } = size;
    await session.#tmux(
      'new-session',
      '-d',
      '-s',
      'msg',
      '-x',
      String(columns),
      '-y',
      String(rows),
      ...PANE_ENV,
      shellCommand(first),
    );
    for (const option of [
      ['remain-on-exit', 'on'],
      ['pane-border-status', 'top'],
      ['pane-border-format', ' #{pane_title} '],
      ['status', 'off'],
    ]) {
      await session.#tmux('set-option', '-g', ...option);
    }
    await session.#tmux('set-option', '-w', '-t', 'msg', 'main-pane-height', String(Math.floor(rows * 0.4)));
    session.#panes.set(
      first.label,
      (await session.#tmux('display-message', '-p', '-t', 'msg', '#{pane_id}')).trim(),
    );
    await session.#tmux('select-pane', '-t', session.#panes.get(first.label)!, '-T', first.label);
    return session;
  }

  /** Adds a pane; the first stays on top, the others side by side below it. */
  async split(pane: PaneSpec): Promise<void> {
    const id = (
      await this.#tmux('split-window', '-t', 'msg', ...PANE_ENV, '-P', '-F', '#{pane_id}', shellCommand(pane))
    ).trim();
    this.#panes.set(pane.label, id);
    await this.#tmux('select-pane', '-t', id, '-T', pane.label);
    await this.#tmux('select-layout', '-t', 'msg', 'main-horizontal');
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
    await this.#tmux('set-option', '-g', 'window-status-format', '');
    await this.#tmux('set-option', '-g', 'window-status-current-format', '');
    await this.#tmux('set-option', '-g', 'status-left', ` ${text.replace(/#/g, '##')}`);
  }

  /** Sends a signal to the program a pane runs (the child of the pane's shell). */
  async signal(label: string, signal: NodeJS.Signals): Promise<void> {
    const shell = (
      await this.#tmux('display-message', '-p', '-t', this.#panes.get(label)!, '#{pane_pid}')
    ).trim();
    const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/);
    for (const pid of children.filter(Boolean)) process.kill(Number(pid), signal);
  }

  /** Sends a key such as C-c to a pane. */
  async key(label: string, key: string): Promise<void> {
    await this.#tmux('send-keys', '-t', this.#panes.get(label)!, key);
  }

  /** The pane's text (its scrollback included), as a person would see it. */
  async capture(label: string): Promise<string> {
    return this.#tmux('capture-pane', '-p', '-J', '-S', '-500', '-t', this.#panes.get(label)!);
  }

  /** Resolves with the exit status of the pane's program once it has exited. */
  async exitStatus(label: string, timeoutMs = 15_000): Promise<number> {
    return Number((await this.window(label).waitFor(EXITED, timeoutMs))[1]);
  }

  /** Every pane's text, by label. */
  async captureAll(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const label of this.#panes.keys()) out[label] = await this.capture(label);
    return out;
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
