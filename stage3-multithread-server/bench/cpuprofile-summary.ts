// Where the time went in V8 .cpuprofile files (from `main-bench.ts --cpu-prof DIR`): the functions
// with the most self and inclusive time, in ms and % of the time considered.
// Usage: tsx stage3-multithread-server/bench/cpuprofile-summary.ts [--phases DIR/phases.json] [--top 25] FILES
// With --phases, only the samples taken during the throughput runs of the child that wrote each file
// count (files are named CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; the windows are in
// CLOCK_MONOTONIC microseconds, the clock V8 stamps profiles with on Linux).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Time the samples considered cover, ms. */
  totalMs: number;
  /** [function, ms] sorted by ms, descending. */
  self: [string, number][];
  inclusive: [string, number][];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|main)\//, '');
  const name = functionName || '(anonymous)';
  return file ? `${name} ${file}:${lineNumber + 1}` : name;
}

/** Self and inclusive time per function; `windows` ([from, to] µs) limits which samples count. */
export function summarizeProfile(
  profile: CpuProfile,
  windows?: readonly (readonly [number, number])[],
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) byId.set(node.id, node);
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) continue;
    // A sample lasts until the next one.
    const us = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    totalUs += us;
    const leaf = byId.get(profile.samples[i])!;
    const leafLabel = label(leaf);
    self.set(leafLabel, (self.get(leafLabel) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const each = label(byId.get(id)!);
      if (seen.has(each)) continue;
      seen.add(each);
      inclusive.set(each, (inclusive.get(each) ?? 0) + us);
    }
  }
  const sorted = (map: Map<string, number>): [string, number][] =>
    [...map.entries()].map(([name, us]): [string, number] => [name, us / 1000]).sort((a, b) => b[1] - a[1]);
  return { totalMs: totalUs / 1000, self: sorted(self), inclusive: sorted(inclusive) };
}

interface PhaseEntry {
  kind: string;
  clients: number;
  pid?: number;
  throughput: [number, number][];
}

if (process.argv[1]?.endsWith('cpuprofile-summary.ts')) {
  process.stdout.on('error', () => process.exit(0)); // piped into head
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { top: { type: 'string', default: '25' }, phases: { type: 'string' } },
    allowPositionals: true,
  });
  const top = Number(values.top);
  const phases = values.phases
    ? (JSON.parse(readFileSync(values.phases, 'utf8')) as PhaseEntry[])
    : undefined;
  for (const file of positionals) {
    const [, , , pid, thread] = basename(file).split('.');
    let windows: [number, number][] | undefined;
    let title = file;
    if (phases) {
      const entry = phases.find((each) => String(each.pid) === pid);
      if (!entry) {
        console.log(`${file}: no child with pid ${pid} in ${values.phases}: skipped\n`);
        continue;
      }
      windows = entry.throughput;
      title = `${entry.kind} N=${entry.clients}, thread ${thread} (${file}), throughput runs only`;
    }
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, windows);
    const line = ([name, ms]: [string, number]) =>
      `${ms.toFixed(0).padStart(8)} ms ${((ms / summary.totalMs) * 100).toFixed(1).padStart(5)}%  ${name}`;
    console.log(`${title}: ${summary.totalMs.toFixed(0)} ms of samples`);
    console.log('self time:');
    for (const entry of summary.self.slice(0, top)) console.log(line(entry));
    console.log('inclusive time:');
    for (const entry of summary.inclusive.slice(0, top)) console.log(line(entry));
    console.log('');
  }
}
