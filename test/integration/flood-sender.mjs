// Sends a handshake flood: node flood-sender.mjs HOST PORT RATE SECONDS FILE
// FILE holds 148-byte initiations back to back; they are sent in turn, RATE a
// second in 10 ms bursts, for SECONDS (both bounded: at most 20,000/s, 60 s),
// from one UDP socket. Prints `sent N` at the end.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [host, port, rateArg, secondsArg, file] = process.argv.slice(2);
const rate = Math.min(Number(rateArg), 20_000);
const seconds = Math.min(Number(secondsArg), 60);
const data = readFileSync(file);
const msgs = [];
for (let o = 0; o + 148 <= data.length; o += 148) msgs.push(data.subarray(o, o + 148));
const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
const start = Date.now();
let sent = 0;
const tick = () => {
  const elapsed = Date.now() - start;
  if (elapsed >= seconds * 1000) {
    sock.close();
    console.log(`sent ${sent}`);
    return;
  }
  const due = Math.floor((elapsed / 1000) * rate);
  while (sent < due) sock.send(msgs[sent++ % msgs.length], Number(port), host);
  setTimeout(tick, 10);
};
tick();
