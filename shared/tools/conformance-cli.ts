// The conformance kit against a running server (ours or another student's):
//   node_modules/.bin/tsx shared/tools/conformance-cli.ts --host H --port P [--private] [--msg-rules]
//     [--max-frame-bytes N] [--only id|group,...] [--list]
// By default it checks PROTOCOL-BASE.md only, so any compliant server passes; --private adds the
// private-message scenarios, --msg-rules the ones for Msg's own name rules (our servers: both).
// Prints one line per scenario, then "N passed, N failed"; exits 0 if none failed, 1 otherwise
// (2 for bad arguments).
import { parseArgs } from 'node:util';
import { runConformance, selectScenarios, summarizeResults } from '../src/conformance/run-conformance.ts';
import { DEFAULT_CONFORMANCE_PROFILE, REQUIREMENT_NOTES } from '../src/conformance/scenarios.ts';

const USAGE =
  'usage: tsx shared/tools/conformance-cli.ts --host H --port P [--private] [--msg-rules] [--max-frame-bytes N] [--only id|group,...] [--list]';

function parse() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      private: { type: 'boolean', default: false },
      'msg-rules': { type: 'boolean', default: false },
      'max-frame-bytes': { type: 'string' },
      only: { type: 'string' },
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
  const only = values.only
    ?.split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  selectScenarios(only); // throws on an unknown id or group
  return {
    ...values,
    port,
    only,
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
  for (const scenario of selectScenarios(options.only)) {
    const requires = scenario.requires
      ? ` [requires ${scenario.requires.map((requirement) => REQUIREMENT_NOTES[requirement]).join('; ')}]`
      : '';
    console.log(`${scenario.id.padEnd(32)} ${scenario.title}${requires}`);
  }
} else {
  console.log(
    `conformance: ${options.host}:${options.port}, private messages ${options.profile.privateMessages ? 'on' : 'off'}, Msg name rules ${options.profile.msgNameRules ? 'on' : 'off'}, maxFrameBytes ${options.profile.maxFrameBytes}`,
  );
  const results = await runConformance({
    host: options.host,
    port: options.port,
    profile: options.profile,
    only: options.only,
    log: (line) => console.log(line),
  });
  console.log(summarizeResults(results));
  process.exitCode = results.some((result) => !result.ok) ? 1 : 0;
}
