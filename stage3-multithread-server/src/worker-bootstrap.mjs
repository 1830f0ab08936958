// Node 20 cannot start a worker from a .ts file: register tsx's loader in this thread, then load it.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
