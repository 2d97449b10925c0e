/**
 * Run by slice-vm.test.ts inside its network namespace (the slice manager puts
 * the bridge, its address and the tap there). `start`: creates a 0-GPU slice
 * and starts it from the slice image with the OCI archive to run, then admits
 * the VM as a peer of the host node once its identity line shows. `stop`:
 * stops and deletes it. Prints one JSON object on stdout.
 */
import { SliceManager } from '../../runtime/slices/manager.js';

const a = JSON.parse(process.argv[3]) as { sysfs: string; state: string; image: string; gateway: { address: string; publicKey: string; listenPort: number; uapiSocket: string }; run: string };
// The fixture tree (2 CPUs, 4 GiB) stands for the host: CPU 1 goes to the slice, as on the 2-core CI runner.
const m = new SliceManager({ sysfs: a.sysfs, stateDir: a.state, image: a.image, accel: 'tcg', gateway: a.gateway });
const out: Record<string, unknown> = {};
if (process.argv[2] === 'start') {
  m.create({ name: 'vm0', gpus: 0, vcpus: 1, memoryMiB: 1024, diskMiB: 1024 });
  const started = await m.start('vm0', { run: a.run, readyTimeoutMs: 30_000 });
  out.pid = started.pid;
  out.command = started.command;
  const admitted = await m.admit('vm0', { timeoutMs: 180_000 });
  Object.assign(out, admitted);
} else {
  await m.stop('vm0', { timeoutMs: 20_000 });
  await m.delete('vm0');
  out.list = m.list();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
