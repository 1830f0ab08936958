// Runs jest with the flags ESM needs on Node 20, then prints CI's closing line
// ("N passed, N failed") last. Extra arguments go to jest (paths, -t, ...).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'msg-jest-'));
const summaryFile = join(dir, 'summary');
const flags = '--experimental-vm-modules --disable-warning=ExperimentalWarning';
const env = {
  ...process.env,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${flags}`.trim(),
  MSG_TEST_SUMMARY_FILE: summaryFile,
};
const result = spawnSync('node_modules/.bin/jest', process.argv.slice(2), { stdio: 'inherit', env });
let summary = '0 passed, 1 failed';
try {
  summary = readFileSync(summaryFile, 'utf8');
} catch {
  // jest died before reporting: keep the failing line
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${summary}\n`);
process.exit(result.status ?? 1);
