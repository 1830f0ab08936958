import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { runConformance } from '../conformance/run-conformance.ts';
import {
  DEFAULT_CONFORMANCE_PROFILE,
  SCENARIOS,
  missingRequirements,
  type ConformanceProfile,
} from '../conformance/scenarios.ts';

/** A running server for the conformance kit; `close` stops it. */
export interface ConformanceTarget {
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface ConformanceJestOptions {
  /**
   * Fail on deviations a tolerant client would read past (a string "true", a key in the wrong case);
   * default true: our own servers are held to the letter of the protocol.
   */
  strict?: boolean;
}

/**
 * Registers one jest test per conformance scenario against a server that `start` builds once for
 * the whole describe (beforeAll) and closes after it (afterAll). Scenarios whose requirements the
 * profile lacks are registered as skipped; a scenario that skips itself at run time (an extension
 * the server does not offer) passes. Each test runs the kit's liveness check first, so a server that
 * stopped answering fails the tests after it with that cause.
 */
export function describeConformance(
  title: string,
  start: () => Promise<ConformanceTarget>,
  profile: Partial<ConformanceProfile> = {},
  options: ConformanceJestOptions = {},
): void {
  const full: ConformanceProfile = { ...DEFAULT_CONFORMANCE_PROFILE, ...profile };
  describe(title, () => {
    let target: ConformanceTarget | undefined;
    beforeAll(async () => {
      target = await start();
    });
    afterAll(async () => {
      await target?.close();
    });
    for (const scenario of SCENARIOS) {
      const register = missingRequirements(scenario, full).length > 0 ? it.skip : it;
      register(`${scenario.id}: ${scenario.title}`, async () => {
        if (!target) throw new Error('the server under test did not start');
        const [result] = await runConformance({
          host: target.host,
          port: target.port,
          profile: full,
          only: [scenario.id],
          strict: options.strict ?? true,
        });
        if (!result.ok) throw new Error(result.error);
      });
    }
  });
}
