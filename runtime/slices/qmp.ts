/**
 * A minimal QMP client (QEMU Machine Protocol, docs/interop/qmp-spec.rst):
 * connect to the Unix socket, read the greeting, negotiate with
 * `qmp_capabilities`, run one command, return its `return` value. Used to ask
 * a slice VM to power down (`system_powerdown`, an ACPI power-button press).
 */
import { connect } from 'node:net';

/**
 * Runs `command` on the QMP socket at `path`.
 * @param timeoutMs bound for the whole exchange (default 5000)
 * @returns the command's `return` member
 * @throws Error with QMP's `error.desc`, a socket error, or a timeout
 */
export function qmpCommand(path: string, command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let step = 0; // 0: greeting, 1: capabilities reply, 2: command reply
    const done = (err: Error | null, value?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error(`qmp ${command}: no answer on ${path} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (err) => done(new Error(`qmp ${command}: ${path}: ${err.message}`)));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          return done(new Error(`qmp ${command}: not JSON from ${path}: ${line.slice(0, 80)}`));
        }
        if (msg.event) continue; // asynchronous events interleave with replies
        if (msg.error) return done(new Error(`qmp ${command}: ${msg.error.desc ?? 'error'}`));
        if (step === 0 && msg.QMP) {
          step = 1;
          sock.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (step === 1 && 'return' in msg) {
          step = 2;
          sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
        } else if (step === 2 && 'return' in msg) {
          return done(null, msg.return);
        }
      }
    });
  });
}
