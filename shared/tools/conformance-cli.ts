// The conformance kit against a running server (ours or another student's):
//   node_modules/.bin/tsx shared/tools/conformance-cli.ts --host H --port P [--private] [--msg-rules]
//     [--max-frame-bytes N] [--only id|family,...] [--skip id|family,...] [--strict] [--json FILE] [--list]
// By default it checks PROTOCOL-BASE.md only, so any compliant server passes; --private adds the
// private-message scenarios, --msg-rules the ones for Msg's own name rules (our servers: both).
// Deviations a tolerant client reads past are reported once and tolerated; --strict fails on them.
// Prints one line per scenario, then the stop (if the server stopped answering), the deviations, and
// "N passed, N failed, N skipped, N not run" last; --json also writes the results to FILE (`-`:
// stdout, the readable report then goes to stderr). Exits 0 if nothing failed and everything ran,
// 1 otherwise (2 for bad arguments).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  formatReportTail,
  formatStop,
  runConformanceReport,
  selectScenarios,
  summarizeResults,
  type ConformanceReport,
} from '../src/conformance/run-conformance.ts';
import { DEFAULT_CONFORMANCE_PROFILE, REQUIREMENT_NOTES } from '../src/conformance/scenarios.ts';

const USAGE =
  'usage: tsx shared/tools/conformance-cli.ts --host H --port P [--private] [--msg-rules] [--max-frame-bytes N] [--only id|family,...] [--skip id|family,...] [--strict] [--json FILE] [--list]';

function parse() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      private: { type: 'boolean', default: false },
      'msg-rules': { type: 'boolean', default: false },
      'max-frame-bytes': { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      strict: { type: 'boolean', default: false },
      json: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!values.list && !values.help && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`--port must be 1-65535, got ${values.port ?? 'nothing'}`);
  }
  const maxFrameBytes = Number(values['max-frame-bytes'] ?? DEFAULT_CONFORMANCE_PROFILE.maxFrameBytes);
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 64 || maxFrameBytes >= 0xffffffff) {
    throw new Error(
      `--max-frame-bytes must be an integer from 64 to 4294967294, got ${values['max-frame-bytes']}`,
    );
  }
  const list = (value?: string) =>
    value
      ?.split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  const only = list(values.only);
  const skip = list(values.skip);
  selectScenarios(only, skip); // throws on an unknown id or family
  return {
    ...values,
    port,
    only,
    skip,
    profile: { privateMessages: values.private, msgNameRules: values['msg-rules'], maxFrameBytes },
  };
}

// Piped into `head`: stop quietly when the reader goes away.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

let options: ReturnType<typeof parse>;
try {
  options = parse();
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

if (options.help) {
  console.log(USAGE);
} else if (options.list) {
  for (const scenario of selectScenarios(options.only, options.skip)) {
    const requires = scenario.requires
      ? ` [requires ${scenario.requires.map((requirement) => REQUIREMENT_NOTES[requirement]).join('; ')}]`
      : '';
    const disruptive = scenario.isDisruptive ? ' [disruptive: runs last]' : '';
    console.log(`${scenario.id.padEnd(40)} ${scenario.title}${requires}${disruptive}`);
  }
} else {
  // With --json -, stdout carries the JSON alone.
  const say =
    options.json === '-' ? (line: string) => console.error(line) : (line: string) => console.log(line);
  say(
    `conformance: ${options.host}:${options.port}, private messages ${options.profile.privateMessages ? 'on' : 'off'}, Msg name rules ${options.profile.msgNameRules ? 'on' : 'off'}, maxFrameBytes ${options.profile.maxFrameBytes}, ${options.strict ? 'strict (deviations fail)' : 'tolerant (deviations reported once; --strict fails on them)'}`,
  );
  const report = await runConformanceReport({
    host: options.host,
    port: options.port,
    profile: options.profile,
    only: options.only,
    skip: options.skip,
    strict: options.strict,
    log: (line) => {
      if (!line.startsWith('STOPPED ')) say(line); // the stop is said once, in the tail
    },
  });
  for (const line of formatReportTail(report)) say(line);
  if (options.json !== undefined) {
    const text = `${JSON.stringify(toJson(report, options), null, 2)}\n`;
    if (options.json === '-') process.stdout.write(text);
    else writeFileSync(options.json, text);
  }
  process.exitCode = report.results.some((result) => !result.ok) ? 1 : 0;
}

/** The results for sharing: one entry per scenario with outcome, cause and timing. */
function toJson(report: ConformanceReport, options: ReturnType<typeof parse>) {
  return {
    target: { host: options.host, port: options.port },
    profile: options.profile,
    strict: report.strict,
    summary: summarizeResults(report.results),
    stopped: report.stopped && { ...report.stopped, message: formatStop(report.stopped) },
    deviations: report.deviations,
    results: report.results.map((result) => ({
      scenario: result.id,
      title: result.title,
      outcome: result.outcome,
      cause: result.error ?? result.skipped ?? null,
      ms: result.ms,
      ...(result.deviations && { deviations: result.deviations }),
    })),
  };
}
