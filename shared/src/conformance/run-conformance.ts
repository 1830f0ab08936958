import { randomBytes } from 'node:crypto';
import { ProbeClient, describeSent } from './probe-client.ts';
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
import type { Deviation } from './tolerate-deviations.ts';

export interface ConformanceOptions {
  host: string;
  port: number;
  profile?: Partial<ConformanceProfile>;
  /** Scenario ids or families (`errors`, `errors.wrong-types`) to run; default: all. */
  only?: string[];
  /** Scenario ids or families to leave out (after `only`). */
  skip?: string[];
  /**
   * Fail a scenario in which the server deviated (a string "true", a key in the wrong case) instead
   * of tolerating the deviation and reporting it once. Our own servers' tests run strict.
   */
  strict?: boolean;
  /** Called with one line per scenario as it finishes (formatResult), and once if the server stops. */
  log?: (line: string) => void;
  /** How long a scenario waits for a frame that should come. */
  replyMs?: number;
  /** How long "nothing arrives" must last to count as silence. */
  silenceMs?: number;
  /** A scenario's budget unless it sets its own timeoutMs. */
  scenarioTimeoutMs?: number;
}

/** How a scenario ended: `not-run` when the server had stopped answering before its turn. */
export type ConformanceOutcome = 'passed' | 'failed' | 'skipped' | 'not-run';

export interface ConformanceResult {
  id: string;
  title: string;
  outcome: ConformanceOutcome;
  /** True when the scenario passed or was skipped. */
  ok: boolean;
  /** Why the scenario was skipped (a profile requirement, or an extension the server lacks). */
  skipped?: string;
  /** The cause of a failure, or why the scenario was not run. */
  error?: string;
  /** Kinds of the deviations seen in this scenario (tolerated unless strict). */
  deviations?: string[];
  ms: number;
}

/** A deviation, reported once for the whole run. */
export interface DeviationReport extends Deviation {
  /** The scenario it was first seen in (or `liveness check` before any scenario). */
  firstSeenIn: string;
  /** How many scenarios saw it (0: only a liveness check did). */
  scenarios: number;
}

/** The server stopped answering: after which scenario, what it had sent last, and what the check saw. */
export interface ServerStop {
  /** The last scenario that ran before the liveness check failed; undefined: before the first. */
  after?: string;
  /** What that scenario sent last (describeSent), if it sent anything. */
  lastSent?: string;
  /** Why the liveness check failed. */
  cause: string;
}

export interface ConformanceReport {
  results: ConformanceResult[];
  deviations: DeviationReport[];
  stopped?: ServerStop;
  strict: boolean;
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

/** True if `entry` names the scenario: its id, or a family (a prefix of the id ending at a dot). */
function selects(entry: string, scenario: Scenario): boolean {
  return scenario.id === entry || scenario.id.startsWith(`${entry}.`);
}

/**
 * The scenarios `only` selects (all by default) minus those `skip` names, each entry an id or a
 * family (`errors`, `errors.wrong-types`); throws on an entry that names none.
 */
export function selectScenarios(only?: string[], skip?: string[]): Scenario[] {
  const unknown = [...(only ?? []), ...(skip ?? [])].filter(
    (entry) => !SCENARIOS.some((scenario) => selects(entry, scenario)),
  );
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario or family: ${unknown.join(', ')} (known: ${SCENARIOS.map((each) => each.id).join(', ')})`,
    );
  }
  return SCENARIOS.filter(
    (scenario) =>
      (!only || only.length === 0 || only.some((entry) => selects(entry, scenario))) &&
      !(skip ?? []).some((entry) => selects(entry, scenario)),
  );
}

const OUTCOME_LABELS: Record<ConformanceOutcome, string> = {
  passed: 'PASS',
  failed: 'FAIL',
  skipped: 'SKIP',
  'not-run': 'NOT RUN',
};

/**
 * One line for a result: `PASS id title (ms)`, `SKIP id title: why`, `FAIL id title: cause`,
 * `NOT RUN id title`.
 */
export function formatResult(result: ConformanceResult): string {
  const head = `${OUTCOME_LABELS[result.outcome]} ${result.id} ${result.title}`;
  switch (result.outcome) {
    case 'skipped':
      return `${head}: ${result.skipped}`;
    case 'passed':
      return `${head} (${result.ms} ms)`; // a tolerated deviation is reported once, in the tail
    case 'failed':
      return `${head}: ${(result.error ?? 'failed').replace(/\s*\n\s*/g, ' ')}`;
    case 'not-run':
      return head;
  }
}

/** `N passed, N failed, N skipped, N not run`. */
export function summarizeResults(results: ConformanceResult[]): string {
  const count = (outcome: ConformanceOutcome) => results.filter((each) => each.outcome === outcome).length;
  return `${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped, ${count('not-run')} not run`;
}

/** The sentence that reports a server that stopped answering. */
export function formatStop(stop: ServerStop): string {
  if (stop.after === undefined)
    return `the server did not answer a login before the first scenario: ${stop.cause}`;
  const sent = stop.lastSent ?? 'nothing';
  return `the server stopped answering after scenario ${stop.after} (what ${stop.after} sent last: ${sent}); the liveness check saw: ${stop.cause}`;
}

/**
 * The readable report after the list of results: the stop (if any), the deviations section (if any),
 * and the summary line last.
 */
export function formatReportTail(report: ConformanceReport): string[] {
  const lines: string[] = [];
  if (report.stopped) lines.push('', `STOPPED ${formatStop(report.stopped)}`);
  if (report.deviations.length > 0) {
    lines.push(
      '',
      report.strict
        ? 'Deviations (failed: strict mode):'
        : 'Deviations (tolerated, so that the other scenarios still measure the server; --strict fails on them):',
    );
    for (const deviation of report.deviations) {
      const more = deviation.scenarios > 1 ? `, and ${deviation.scenarios - 1} more scenario(s)` : '';
      lines.push(
        `  - ${deviation.description} (first in ${deviation.firstSeenIn}${more}): ${deviation.example}`,
      );
    }
  }
  lines.push('', summarizeResults(report.results));
  return lines;
}

/**
 * Runs the conformance scenarios against the server at host:port, one after the other, each within
 * its time budget; the results only (runConformanceReport has the stop and the deviations too).
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult[]> {
  return (await runConformanceReport(options)).results;
}

/**
 * Runs the scenarios one after the other, each within its time budget. Before each one a liveness
 * check (connect, log in a fresh name) makes sure the server still answers; once it does not, the run
 * stops, says once after which scenario and what that scenario sent last, and lists the rest as not
 * run. Every connection a scenario opens is closed before the next one starts, and the frames each
 * connection received are checked afterwards (base key types; no extension key for a client that
 * never sent FEATURES). Deviations a tolerant client reads past are reported once and fail a
 * scenario only when `strict`.
 */
export async function runConformanceReport(options: ConformanceOptions): Promise<ConformanceReport> {
  const profile: ConformanceProfile = { ...DEFAULT_CONFORMANCE_PROFILE, ...options.profile };
  const strict = options.strict ?? false;
  const results: ConformanceResult[] = [];
  const deviations = new Map<string, DeviationReport>();
  /** Counted per scenario; what only a liveness check saw is added at the end. */
  const note = (seen: Deviation[], where: string, into: Map<string, DeviationReport>) => {
    for (const deviation of new Map(seen.map((each) => [each.kind, each])).values()) {
      const known = into.get(deviation.kind);
      if (known) known.scenarios += 1;
      else into.set(deviation.kind, { ...deviation, firstSeenIn: where, scenarios: 1 });
    }
  };
  const seenByLiveness = new Map<string, DeviationReport>();
  let stopped: ServerStop | undefined;
  let last: { id: string; lastSent?: string } | undefined;
  const checkStillAnswering = async () => {
    const check = await checkLiveness(options);
    note(
      check.deviations,
      last ? `the liveness check after ${last.id}` : 'the first liveness check',
      seenByLiveness,
    );
    if (check.cause !== undefined) {
      stopped = { after: last?.id, lastSent: last?.lastSent, cause: check.cause };
      options.log?.(`STOPPED ${formatStop(stopped)}`);
    }
  };

  for (const scenario of selectScenarios(options.only, options.skip)) {
    const missing = missingRequirements(scenario, profile);
    let result: ConformanceResult;
    if (missing.length > 0) {
      result = {
        id: scenario.id,
        title: scenario.title,
        outcome: 'skipped',
        ok: true,
        skipped: `needs ${missing.map((requirement) => REQUIREMENT_NOTES[requirement]).join('; ')}`,
        ms: 0,
      };
    } else {
      if (!stopped) await checkStillAnswering();
      if (stopped) {
        result = {
          id: scenario.id,
          title: scenario.title,
          outcome: 'not-run',
          ok: false,
          error: `not run: ${formatStop(stopped)}`,
          ms: 0,
        };
      } else {
        const run = await runScenario(scenario, options, profile, strict);
        note(run.deviations, scenario.id, deviations);
        last = { id: scenario.id, lastSent: run.lastSent };
        result = run.result;
      }
    }
    results.push(result);
    options.log?.(formatResult(result));
  }
  // The last scenario may have knocked the server over too: say so, though nothing is left to skip.
  if (!stopped && last) await checkStillAnswering();
  for (const [kind, deviation] of seenByLiveness) {
    if (!deviations.has(kind)) deviations.set(kind, { ...deviation, scenarios: 0 });
  }
  return { results, deviations: [...deviations.values()], ...(stopped && { stopped }), strict };
}

const LIVENESS_ATTEMPTS = 2;
const LIVENESS_RETRY_MS = 200;

/**
 * Connects and logs in a fresh name, twice at most; `cause` is set if the server never answered
 * (no connection, neither USERNAME_ACCEPTED nor ERROR, or a close). A refusal, an ERROR or a broken
 * frame is an answer: the server is alive, and what it answered is for the scenarios to judge.
 */
async function checkLiveness(
  options: ConformanceOptions,
): Promise<{ cause?: string; deviations: Deviation[] }> {
  const replyMs = options.replyMs ?? REPLY_MS;
  const deviations: Deviation[] = [];
  let cause = '';
  for (let attempt = 0; attempt < LIVENESS_ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, LIVENESS_RETRY_MS));
    let client: ProbeClient | undefined;
    try {
      client = await ProbeClient.connect(options.host, options.port, replyMs);
      client.send({ USERNAME: freshName() });
      await client.waitFor(
        'USERNAME_ACCEPTED',
        (frame) => Object.hasOwn(frame, 'USERNAME_ACCEPTED') || Object.hasOwn(frame, 'ERROR'),
        replyMs,
      );
      return { deviations: [...deviations, ...client.deviations] };
    } catch (error) {
      // A server that answered with a broken frame is answering: the scenario reports the frame.
      if (client?.framingError) return { deviations: [...deviations, ...client.deviations] };
      cause = error instanceof Error ? error.message : String(error);
      if (client) deviations.push(...client.deviations);
    } finally {
      if (client) await closeAll([client]);
    }
  }
  return { cause, deviations };
}

interface ScenarioRun {
  result: ConformanceResult;
  deviations: Deviation[];
  /** What the scenario's connections sent last (describeSent). */
  lastSent?: string;
}

async function runScenario(
  scenario: Scenario,
  options: ConformanceOptions,
  profile: ConformanceProfile,
  strict: boolean,
): Promise<ScenarioRun> {
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
  const deviations = clients.flatMap((client) => client.deviations);
  const kinds = [...new Set(deviations.map((deviation) => deviation.kind))];
  if (strict && deviations.length > 0) {
    const first = new Map(deviations.map((each) => [each.kind, each]));
    const seen = `deviation (strict): ${[...first.values()].map((each) => `${each.description}: ${each.example}`).join('; ')}`;
    error = error ? `${error}; also, ${seen}` : seen;
  }
  const lastSent = clients
    .map((client) => client.lastSent)
    .filter((sent) => sent !== undefined)
    .sort((a, b) => a.at - b.at)
    .at(-1);
  await closeAll(clients);
  const ms = Math.round(performance.now() - started);
  const base = { id: scenario.id, title: scenario.title, ...(kinds.length > 0 && { deviations: kinds }), ms };
  const result: ConformanceResult =
    error !== undefined
      ? { ...base, outcome: 'failed', ok: false, error }
      : skipped !== undefined
        ? { ...base, outcome: 'skipped', ok: true, skipped }
        : { ...base, outcome: 'passed', ok: true };
  return { result, deviations, ...(lastSent && { lastSent: describeSent(lastSent) }) };
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
