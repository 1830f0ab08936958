// `make screenshots`: runs each stage's demo and saves a PNG of it, drawn as a terminal, to
// docs/screenshots/stageN-demo.png (the pictures in REPORT.md). Stages 1-3 print labelled lines
// (`[alice]    text`), drawn as side-by-side windows; stage 4 runs in tmux and its panes' text is drawn
// in tmux's layout. The page is plain HTML shot by Chromium (playwright-core, /usr/bin/chromium), so
// the pictures are remade from the real programs, never edited by hand. Timestamps differ per run.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { hasTmux } from './tmux-panes.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const OUT_DIR = join(ROOT, 'docs/screenshots');
const CHROMIUM = '/usr/bin/chromium';
// The flags TOOLCHAIN.md says work in this sandbox (no GPU, no network side traffic).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Wide enough for four 52-column client windows side by side (stage 3) without wrapping.
const VIEWPORT_WIDTH = 1920;
const DEMO_TIMEOUT_MS = 120_000;
// The colours demo-runner gives the labels on a TTY (cyan, yellow, magenta, green, blue, red), so a
// window's title has the colour a person running `make stageN` sees for it.
const LABEL_COLOURS = ['#56b6c2', '#e5c07b', '#c678dd', '#98c379', '#61afef', '#e06c75'];

interface Demo {
  stage: number;
  entry: string;
  /** Stage 2 may still be being written: if it is missing or fails, skip it instead of failing. */
  optional?: boolean;
}

const DEMOS: Demo[] = [
  { stage: 1, entry: 'stage1-basic/src/main-demo.ts' },
  { stage: 2, entry: 'stage2-select-client/src/main-demo.ts', optional: true },
  { stage: 3, entry: 'stage3-multithread-server/src/main-demo.ts' },
  { stage: 4, entry: 'stage4-routing/src/main-demo.ts' },
];

/** One step of a line-mode demo: its heading (`=== ...` or `-- ...`) and each window's lines. */
interface Section {
  heading?: string;
  lines: Map<string, string[]>;
}

/** A line-mode demo's output, split into its title, windows, steps and closing lines. */
interface LabelledOutput {
  title: string;
  labels: string[];
  sections: Section[];
  footer: string[];
}

// ---------------------------------------------------------------- running the demos

async function runDemo(entry: string, env: Record<string, string> = {}): Promise<string> {
  // stdout is a pipe, so the demos print plain labelled lines (no colours, no tmux unless forced).
  const { stdout } = await run(TSX, [join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    timeout: DEMO_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Stage 4 in tmux, not attached, short pauses; returns each pane's text by label. */
async function runTmuxDemo(entry: string): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'msg-screenshots-'));
  const capture = join(dir, 'panes.json');
  try {
    await runDemo(entry, {
      MSG_DEMO_MODE: 'tmux',
      MSG_DEMO_ATTACH: '0',
      MSG_DEMO_PAUSE_MS: '100',
      MSG_DEMO_CAPTURE: capture,
    });
    return JSON.parse(readFileSync(capture, 'utf8')) as Record<string, string>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- reading their output

const ANSI = /\x1b\[[0-9;]*m/g;

/** Splits `[label]    text` lines (demo-runner pads the label to 10 characters, then a space). */
function parseLabelled(stdout: string): LabelledOutput {
  const out: LabelledOutput = { title: '', labels: [], sections: [{ lines: new Map() }], footer: [] };
  for (const raw of stdout.replace(ANSI, '').split('\n')) {
    const line = raw.replace(/\r$/, '');
    const label = /^\[([^\]\s]+)\]/.exec(line);
    const section = out.sections[out.sections.length - 1];
    if (label) {
      const name = label[1];
      if (!out.labels.includes(name)) out.labels.push(name);
      const text = line.slice(Math.max(10, label[0].length) + 1);
      section.lines.set(name, [...(section.lines.get(name) ?? []), text]);
    } else if (line.trim() === '') {
      continue;
    } else if (!out.title) {
      out.title = line;
    } else if (/^(===|--) /.test(line)) {
      out.sections.push({ heading: line.replace(/^(===|--) /, ''), lines: new Map() });
    } else {
      out.footer.push(line);
    }
  }
  moveTrailingHeadingsToFooter(out);
  out.sections = out.sections.filter((section) => section.heading || section.lines.size > 0);
  out.labels = orderLabels(out.labels);
  return out;
}

// Headings after the last window line are summaries ("=== checks: ..."), not steps: they read
// better as the closing lines under the windows than as empty steps.
function moveTrailingHeadingsToFooter(out: LabelledOutput): void {
  for (let last = out.sections.at(-1); last?.heading && last.lines.size === 0; last = out.sections.at(-1)) {
    out.footer.unshift(`=== ${last.heading}`);
    out.sections.pop();
  }
}

/** The server's window first (it is where everything passes), then the clients by name. */
function orderLabels(labels: string[]): string[] {
  const rest = labels.filter((label) => label !== 'server').sort();
  return labels.includes('server') ? ['server', ...rest] : rest;
}

/** A tmux pane's text as it reads on screen: no "Pane is dead" notice, no empty rows at the end. */
function cleanPane(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => !/^Pane is dead\b/.test(line));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

// The demo's own last status-bar caption is not in the capture, so it is worked out the same way
// the demo works it out: from what carol's and bob's panes show.
function stage4Caption(panes: Record<string, string>): string {
  const carolSawPrivate = /lunch at noon/.test(panes.carol ?? '');
  const bobSawSpoof = /this is bob, honest/.test(panes.bob ?? '');
  return `Done: carol saw the private message: ${carolSawPrivate ? 'YES' : 'no'}; spoof reached bob: ${bobSawSpoof ? 'YES' : 'no'}`;
}

// ---------------------------------------------------------------- drawing them as HTML

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

const CSS = `
  * { box-sizing: border-box; margin: 0; }
  body { background: #2d2f33; padding: 20px; font: 15px/1.4 'DejaVu Sans Mono', 'Noto Color Emoji', monospace; color: #d4d4d4; }
  .window { background: #1b1d21; border: 1px solid #4a4d52; border-radius: 8px; overflow: hidden; }
  .titlebar { display: flex; align-items: center; gap: 8px; padding: 8px 12px; background: #34373c;
    color: #c8c8c8; font-size: 13px; }
  .dot { width: 12px; height: 12px; border-radius: 50%; }
  .titlebar .name { flex: 1; text-align: center; margin-right: 60px; }
  .screen { padding: 10px 12px 12px; }
  pre { font: inherit; white-space: pre-wrap; overflow-wrap: anywhere; tab-size: 8; }
  .prompt { color: #98c379; }
  .heading { grid-column: 1 / -1; color: #e5c07b; padding: 8px 4px 4px; border-top: 1px dashed #44474c; }
  .heading:first-child { border-top: none; }
  .grid { display: grid; column-gap: 0; }
  .cell { padding: 2px 10px 6px; border-left: 1px solid #3b3e43; min-width: 0; }
  .cell.first { border-left: none; }
  .label { font-weight: bold; padding: 4px 10px; border-bottom: 1px solid #3b3e43; border-left: 1px solid #3b3e43; }
  .label.first { border-left: none; }
  .footer { margin-top: 8px; padding-top: 6px; border-top: 1px solid #3b3e43; color: #b5b5b5; }
  .tmux { display: flex; flex-direction: column; gap: 0; }
  .tmux .row { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .pane { border: 1px solid #3b3e43; margin: -1px 0 0 -1px; min-width: 0; }
  .pane .label { border-left: none; }
  .pane pre { padding: 4px 8px 8px; }
  .status { background: #2e9e2e; color: #000; padding: 2px 8px; white-space: pre; overflow: hidden; }
`;

function page(title: string, body: string, fontPx = 15): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS}</style></head><body style="font-size:${fontPx}px">
  <div class="window">
    <div class="titlebar"><span class="dot" style="background:#ff5f57"></span><span class="dot" style="background:#febc2e"></span><span class="dot" style="background:#28c840"></span><span class="name">${escapeHtml(title)}</span></div>
    <div class="screen">${body}</div>
  </div></body></html>`;
}

function labelTitle(label: string, index: number, extraClass = ''): string {
  const colour = LABEL_COLOURS[index % LABEL_COLOURS.length];
  return `<div class="label ${extraClass}" style="color:${colour}">${escapeHtml(label)}</div>`;
}

// A window's share of the width follows its longest line (within bounds), so the server's long log
// lines get room without squeezing the clients' short ones to nothing.
function columnWidths(out: LabelledOutput): string {
  return out.labels
    .map((label) => {
      const longest = Math.max(
        0,
        ...out.sections.flatMap((section) => (section.lines.get(label) ?? []).map((line) => line.length)),
      );
      return `minmax(0, ${Math.min(Math.max(longest, 30), 120)}fr)`;
    })
    .join(' ');
}

/**
 * Stages 1-3: one column per window (server | clients) with the window's title on top; each step's
 * heading runs across all columns, so what each window showed during a step sits side by side.
 * With more than three windows (stage 3) the columns get too narrow for the server's long log lines,
 * so the server gets the full width on top, as in tmux's layout for stage 4, and the clients below.
 */
function labelledPage(stage: number, out: LabelledOutput): string {
  const serverOnTop = out.labels.length > 3 && out.labels[0] === 'server';
  const columns = serverOnTop ? { ...out, labels: out.labels.slice(1) } : out;
  const server = serverOnTop
    ? paneHtml('server', 0, out.sections.flatMap((section) => section.lines.get('server') ?? []).join('\n')) +
      '<div style="height:8px"></div>'
    : '';
  const body = `<pre><span class="prompt">$</span> make stage${stage}\n${escapeHtml(out.title)}</pre>
    <div style="margin-top:10px">${server}${windowColumns(columns, serverOnTop ? 1 : 0)}</div>
    <pre class="footer">${escapeHtml(out.footer.join('\n'))}</pre>`;
  // Four client columns of ~55-character lines fit the width unwrapped only a size smaller.
  return page(`make stage${stage}`, body, columns.labels.length > 3 ? 13 : 15);
}

/** The windows as columns, a step per row; `colourFrom` skips colours used by a window above. */
function windowColumns(out: LabelledOutput, colourFrom: number): string {
  const first = (index: number) => (index === 0 ? 'first' : '');
  const titles = out.labels.map((label, i) => labelTitle(label, colourFrom + i, first(i))).join('');
  const rows = out.sections
    .map((section) => {
      const heading = section.heading ? `<div class="heading">${escapeHtml(section.heading)}</div>` : '';
      if (!out.labels.some((label) => section.lines.has(label))) return heading;
      const cells = out.labels
        .map((label, i) => {
          const text = (section.lines.get(label) ?? []).join('\n');
          return `<div class="cell ${first(i)}"><pre>${escapeHtml(text)}</pre></div>`;
        })
        .join('');
      return heading + cells;
    })
    .join('');
  return `<div class="grid" style="grid-template-columns:${columnWidths(out)}">${titles}${rows}</div>`;
}

function paneHtml(label: string, index: number, text: string): string {
  return `<div class="pane">${labelTitle(label, index)}<pre>${escapeHtml(cleanPane(text))}</pre></div>`;
}

/** Stage 4: tmux's main-horizontal layout: server on top, alice | bob | carol below, status bar. */
function tmuxPage(panes: Record<string, string>): string {
  const [top, ...below] = orderLabels(Object.keys(panes));
  const body = `<div class="tmux">
      ${paneHtml(top, 0, panes[top])}
      <div class="row">${below.map((label, i) => paneHtml(label, i + 1, panes[label])).join('')}</div>
    </div>
    <div class="status"> ${escapeHtml(stage4Caption(panes))}</div>`;
  return page('make stage4 (tmux: server, alice, bob, carol)', body);
}

// ---------------------------------------------------------------- screenshots

/** Loads the HTML at a fixed width, fits the height to the content, and saves a PNG. */
async function shoot(browser: Browser, html: string, file: string): Promise<void> {
  const tab = await browser.newPage({ viewport: { width: VIEWPORT_WIDTH, height: 200 } });
  try {
    await tab.setContent(html, { waitUntil: 'load' });
    // Wait for the fonts before the shot; a string, because this project type-checks without the DOM lib.
    await tab.evaluate('document.fonts.ready.then(() => true)');
    await tab.screenshot({ path: file, fullPage: true });
  } finally {
    await tab.close();
  }
}

/** Runs one demo and returns its page, or throws with the reason it could not. */
async function demoPage(demo: Demo): Promise<string> {
  if (!existsSync(join(ROOT, demo.entry))) throw new Error(`${demo.entry} does not exist yet`);
  // Without tmux the stage 4 demo prints labelled lines like the others; draw those instead.
  if (demo.stage === 4 && (await hasTmux())) return tmuxPage(await runTmuxDemo(demo.entry));
  return labelledPage(demo.stage, parseLabelled(await runDemo(demo.entry)));
}

function describe(error: unknown): string {
  const failure = error as { code?: unknown; stdout?: string; stderr?: string; message?: string };
  const tail = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n  ');
  return tail || (failure.message ?? String(error));
}

// The demos print emoji (stage 2's "hello alice 👋"); without a font that has them Chromium draws
// empty boxes, which no real terminal would show. Warn rather than fail: the rest still reads.
async function warnIfNoEmojiFont(): Promise<void> {
  const { stdout } = await run('fc-list', [':charset=1f44b', 'family']).catch(() => ({ stdout: '' }));
  if (!stdout.trim())
    console.warn('warning: no emoji font (apt-get install fonts-noto-color-emoji): emoji will show as boxes');
}

async function main(): Promise<number> {
  mkdirSync(OUT_DIR, { recursive: true });
  await warnIfNoEmojiFont();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  let failures = 0;
  try {
    for (const demo of DEMOS) {
      const file = join(OUT_DIR, `stage${demo.stage}-demo.png`);
      const relative = file.slice(ROOT.length);
      try {
        await shoot(browser, await demoPage(demo), file);
        console.log(`wrote ${relative}`);
      } catch (error) {
        const reason = `stage ${demo.stage} demo (${demo.entry}) failed: ${describe(error)}`;
        if (demo.optional) {
          console.log(`skipped ${relative}: ${reason}`);
        } else {
          console.error(reason);
          failures++;
        }
      }
    }
  } finally {
    await browser.close();
  }
  return failures;
}

process.exit((await main()) === 0 ? 0 : 1);
