// A tiny TCP peer for test/integration/gateway-netns.test.ts, run inside a namespace.
//   node gateway-peer.mjs serve PORT...      listens on every PORT (all addresses); answers each
//                                             connection with the address it came from, then closes
//   node gateway-peer.mjs connect HOST PORT MS  prints the server's answer and exits 0, or prints
//                                             "refused <reason>" and exits 2 (no answer within MS)
import { createConnection, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'serve') {
  for (const port of args.map(Number)) {
    createServer((s) => s.end(`${s.remoteAddress}\n`)).listen({ port, host: '::', ipv6Only: false }, () => console.log(`listening ${port}`));
  }
  setTimeout(() => process.exit(0), 120_000); // bounded: never outlives the test
} else if (mode === 'connect') {
  const [host, port, ms] = [args[0], Number(args[1]), Number(args[2] ?? 2000)];
  let answer = '';
  const s = createConnection({ host, port });
  const timer = setTimeout(() => {
    console.log('refused timeout');
    process.exit(2);
  }, ms);
  s.on('data', (d) => (answer += d));
  s.on('end', () => {
    clearTimeout(timer);
    console.log(answer.trim().replace(/^::ffff:/, ''));
    process.exit(0);
  });
  s.on('error', (e) => {
    clearTimeout(timer);
    console.log(`refused ${e.code}`);
    process.exit(2);
  });
} else {
  console.error('usage: gateway-peer.mjs serve PORT... | connect HOST PORT MS');
  process.exit(64);
}
