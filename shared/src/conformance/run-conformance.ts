import { randomBytes } from 'node:crypto';
import { ProbeClient } from './probe-client.ts';
import {
  DEFAULT_CONFORMANCE_PROFILE,
  REQUIREMENT_NOTES,
  SCENARIOS,
  missingRequirements,
  receivedProblems,
  type ConformanceProfile,
  type Scenario,
  type ScenarioContext,
} from './scenarios.ts';

export interface ConformanceOptions {
  host: string;
  port: number;
  profile?: Partial<ConformanceProfile>;
  /** Scenario ids or group names to run; default: all. */
  only?: string[];
  /** Called with one line per scenario as it finishes (formatResult). */
  log?: (line: string) => void;
  /** How long a scenario waits for a frame that should come. */
  replyMs?: number;
  /** How long "nothing arrives" must last to count as silence. */
  silenceMs?: number;
  /** A scenario's budget unless it sets its own timeoutMs. */
  scenarioTimeoutMs?: number;
}

export interface ConformanceResult {
  id: string;
  title: string;
  /** True when the scenario passed or was skipped. */
  ok: boolean;
  /** Why the scenario did not run (a profile requirement, or an extension the server lacks). */
  skipped?: string;
  error?: string;
  ms: number;
}

const REPLY_MS = 2_000;
const SILENCE_MS = 300;
const SCENARIO_TIMEOUT_MS = 8_000;
/** After a timeout: how long the abandoned scenario gets to notice its sockets are gone. */
const SETTLE_MS = 1_000;
const CLOSE_WAIT_MS = 1_000;

class ScenarioSkipped extends Error {}

/** A fresh username: `c` + 10 random base36 characters. */
export function freshName(): string {
  return `c${BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString(36)
    .padStart(10, '0')
    .slice(-10)}`;
}

/** The scenarios `only` selects (ids or group names); throws on an entry that names none. */
export function selectScenarios(only?: string[]): Scenario[] {
  if (!only || only.length === 0) return [...SCENARIOS];
  const unknown = only.filter(
    (entry) => !SCENARIOS.some((each) => each.id === entry || each.group === entry),
  );
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario or group: ${unknown.join(', ')} (known: ${SCENARIOS.map((each) => each.id).join(', ')})`,
    );
  }
  return SCENARIOS.filter((each) => only.includes(each.id) || only.includes(each.group));
}

/** One line for a result: `PASS id title (ms)`, `SKIP id title: why`, `FAIL id title: error`. */
export function formatResult(result: ConformanceResult): string {
  if (result.skipped !== undefined) return `SKIP ${result.id} ${result.title}: ${result.skipped}`;
  if (result.ok) return `PASS ${result.id} ${result.title} (${result.ms} ms)`;
  return `FAIL ${result.id} ${result.title}: ${(result.error ?? 'failed').replace(/\s*\n\s*/g, ' ')}`;
}

/** `N passed, N failed` (and `, N skipped` when some were). */
export function summarizeResults(results: ConformanceResult[]): string {
  const skipped = results.filter((result) => result.skipped !== undefined).length;
  const failed = results.filter((result) => !result.ok).length;
  const passed = results.length - skipped - failed;
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

/**
 * Runs the conformance scenarios against the server at host:port, one after the other, each within
 * its time budget. Every connection a scenario opens is closed before the next one starts, and the
 * frames each connection received are checked afterwards (base key types; no extension key for a
 * client that never sent FEATURES).
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult[]> {
  const profile: ConformanceProfile = { ...DEFAULT_CONFORMANCE_PROFILE, ...options.profile };
  const results: ConformanceResult[] = [];
  for (const scenario of selectScenarios(options.only)) {
    const missing = missingRequirements(scenario, profile);
    const result =
      missing.length > 0
        ? {
            id: scenario.id,
            title: scenario.title,
            ok: true,
            skipped: `needs ${missing.map((requirement) => REQUIREMENT_NOTES[requirement]).join('; ')}`,
            ms: 0,
          }
        : await runScenario(scenario, options, profile);
    results.push(result);
    options.log?.(formatResult(result));
  }
  return results;
}

async function runScenario(
  scenario: Scenario,
  options: ConformanceOptions,
  profile: ConformanceProfile,
): Promise<ConformanceResult> {
  const started = performance.now();
  const clients: ProbeClient[] = [];
  const abort = new AbortController();
  const ctx: ScenarioContext = {
    profile,
    replyMs: options.replyMs ?? REPLY_MS,
    silenceMs: options.silenceMs ?? SILENCE_MS,
    async connect() {
      abort.signal.throwIfAborted();
      const client = await ProbeClient.connect(options.host, options.port, options.replyMs ?? REPLY_MS);
      clients.push(client);
      if (abort.signal.aborted) client.destroy();
      return client;
    },
    freshName,
    freshToken: () => randomBytes(6).toString('hex'),
    sleep: (ms) => abortableSleep(ms, abort.signal),
    skip(reason) {
      throw new ScenarioSkipped(reason);
    },
  };

  let error: string | undefined;
  let skipped: string | undefined;
  const timeoutMs = scenario.timeoutMs ?? options.scenarioTimeoutMs ?? SCENARIO_TIMEOUT_MS;
  const running = scenario.run(ctx);
  running.catch(() => {}); // settled below, or abandoned after a timeout
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  try {
    if ((await Promise.race([running.then(() => 'done' as const), timedOut])) === 'timeout') {
      error = `timed out after ${timeoutMs} ms`;
      abort.abort();
      for (const client of clients) client.destroy();
      await within(running, SETTLE_MS);
    }
  } catch (caught) {
    if (caught instanceof ScenarioSkipped) skipped = caught.message;
    else error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    clearTimeout(timer);
  }

  const problems = clients.flatMap(receivedProblems);
  if (problems.length > 0) {
    const seen = `the server sent bad frames: ${[...new Set(problems)].join('; ')}`;
    error = error ? `${error}; also, ${seen}` : seen;
  }
  await closeAll(clients);
  const ms = Math.round(performance.now() - started);
  if (error !== undefined) return { id: scenario.id, title: scenario.title, ok: false, error, ms };
  return { id: scenario.id, title: scenario.title, ok: true, ...(skipped !== undefined && { skipped }), ms };
}

async function closeAll(clients: ProbeClient[]): Promise<void> {
  for (const client of clients) client.destroy();
  await within(Promise.all(clients.map((client) => client.closed)), CLOSE_WAIT_MS);
}

/** Waits for `promise` to settle, but at most `ms`; never rejects, and leaves no timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([promise.then(noop, noop), expired]);
  clearTimeout(timer);
}

function noop(): void {}

/** Resolves after `ms`, or rejects as soon as `signal` aborts; its timer never outlives it. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('the scenario was abandoned'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('the scenario was abandoned'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
