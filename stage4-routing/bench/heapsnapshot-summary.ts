// Where a V8 heap snapshot's bytes are: self sizes totalled by node type and constructor name, the
// biggest first, plus strings by length. `tsx stage4-routing/bench/heapsnapshot-summary.ts FILE`, or
// summarizeHeapSnapshot(file) from the storm. Self sizes only (no dominator tree): enough to say
// "history strings" vs "buffers" vs "code", and cheap on a few hundred MiB of snapshot.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: (string[] | string)[] }; node_count: number };
  nodes: number[];
  strings: string[];
}

const MiB = 1024 * 1024;

/** Lines of text: the total, the top groups by self size, and strings bucketed by size. */
export function summarizeHeapSnapshot(file: string, top = 20): string[] {
  const data = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { bytes: number; count: number }>();
  const stringBuckets = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  const nodes = data.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    total += size;
    let key: string;
    if (type === 'object' || type === 'native' || type === 'closure')
      key = `${type} ${data.strings[nodes[i + nameAt]]}`;
    else key = `(${type})`;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
      const bucket = size >= 16 * 1024 ? '>= 16 KiB' : size >= 1024 ? '1-16 KiB' : '< 1 KiB';
      const entry = stringBuckets.get(bucket) ?? { bytes: 0, count: 0 };
      entry.bytes += size;
      entry.count++;
      stringBuckets.set(bucket, entry);
    }
    const entry = groups.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += size;
    entry.count++;
    groups.set(key, entry);
  }
  const line = (name: string, { bytes, count }: { bytes: number; count: number }) =>
    `${(bytes / MiB).toFixed(1).padStart(7)} MiB ${String(count).padStart(8)} x ${name}`;
  return [
    `${(total / MiB).toFixed(1)} MiB in ${nodes.length / width} nodes (self sizes)`,
    ...[...groups.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([name, entry]) => line(name, entry)),
    'strings by size:',
    ...[...stringBuckets.entries()].map(([name, entry]) => line(name, entry)),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of process.argv.slice(2)) {
    console.log(file);
    for (const each of summarizeHeapSnapshot(file)) console.log(`  ${each}`);
  }
}
