import { parseArgs } from 'node:util';

/** What main-*.ts entry points take: --host, --port, --name (clients, from stage 2) and --workers (servers, from stage 3). */
export interface CliOptions {
  host: string;
  port: number;
  name?: string;
  workers?: number;
}

/**
 * Parses an entry point's arguments (only main-*.ts files call this, with process.argv.slice(2)).
 * Throws a readable Error on a bad port or worker count.
 */
export function parseCli(args: string[], defaults: { port: number }): CliOptions {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: String(defaults.port) },
      name: { type: 'string' },
      workers: { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535, got ${values.port}`);
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 64)) {
    throw new Error(`--workers must be 0-64, got ${values.workers}`);
  }
  return { host: values.host, port, name: values.name || undefined, workers };
}

/** Runs `close` on SIGINT or SIGTERM, then exits 0 (1 if closing failed). For main-*.ts only. */
export function closeOnSignals(close: () => Promise<void>, log = (line: string) => console.log(line)): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C in a terminal signals the whole process group, and a wrapper (tsx) passes it on too: the
    // same signal can arrive twice. Shutting down once is enough; a repeat must not kill us mid-close.
    if (closing) return;
    closing = true;
    log(`${signal}: shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The server window's line prefix: an ISO time. */
export function timestamped(line: string): string {
  return `${new Date().toISOString().slice(11, 23)} ${line}`;
}
