// The benchmark's counter-example, never used by the product: a client written WITHOUT I/O
// multiplexing. Instead of sleeping until the keyboard or the socket has something (epoll), it wakes
// up every millisecond and tries a non-blocking read on each, the way a C client without select()
// spins over read() on O_NONBLOCK descriptors. It does log in, so it is idle in the same state as the
// real client. Usage: tsx polling-client.ts --port P --name N
import { FrameDecoder, connectTcp, decodePayload, encodeFrame, parseCli } from '#shared';

const POLL_INTERVAL_MS = 1;
const { host, port, name = 'polling' } = parseCli(process.argv.slice(2), { port: 5002 });

const socket = await connectTcp(host, port);
const decoder = new FrameDecoder({
  onFrame: (payload) => {
    const frame = decodePayload(payload);
    if (frame.USERNAME_ACCEPTED === true) console.log(`* logged in as ${name}`);
    else console.log(JSON.stringify(frame));
  },
  onError: (error) => {
    console.error(error.message);
    process.exit(1);
  },
});
socket.pause(); // no 'data' events: this client reads only when it polls
process.stdin.pause();
socket.write(encodeFrame({ USERNAME: name }));

setInterval(() => {
  // Each read() returns null when nothing has arrived, which is almost every time.
  for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) decoder.push(chunk);
  for (let typed: Buffer | null; (typed = process.stdin.read() as Buffer | null) !== null;) {
    for (const line of typed.toString('utf8').split('\n').filter(Boolean)) {
      socket.write(encodeFrame({ MESSAGES: [[name, 'ALL', Math.floor(Date.now() / 1000), line]] }));
    }
  }
  if (process.stdin.readableEnded) process.exit(0);
}, POLL_INTERVAL_MS);
