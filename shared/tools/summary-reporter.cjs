// Records the counts CI reads; shared/tools/run-jest.mjs prints them as the very last line
// ("N passed, N failed[, N skipped]"), after jest's own summary.
const fs = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    // A suite that fails to load has no failed tests of its own: count it as a failure.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
    const target = process.env.MSG_TEST_SUMMARY_FILE;
    if (target) fs.writeFileSync(target, line);
    else process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
