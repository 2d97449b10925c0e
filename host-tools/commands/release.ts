/**
 * `tfw release`: a built image made into a signed update bundle for devices in
 * the field: `X.tfwup` (tar: manifest.json, vmlinuz, initramfs.cpio.zst) and
 * `X.tfwup.minisig` (minisign; `minisign -Vm X.tfwup -p release.key.pub`
 * verifies it). `tfw upgrade --device URL X.tfwup` installs it.
 */
import type { Command } from 'commander';
import { makeRelease } from '../../images/builder/release.js';
import { imageDir } from '../../images/builder/paths.js';
import { loadBoard, loadRole, DEFAULT_BOARD, DEFAULT_ROLE } from '../../images/builder/schema.js';

interface ReleaseFlags {
  board: string;
  role: string;
  dir?: string;
  key: string;
  output: string;
  append: string[];
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('release')
    .description('Make a signed update bundle (.tfwup + .minisig) from a built image')
    .option('-b, --board <board>', 'board name', DEFAULT_BOARD)
    .option('-r, --role <role>', 'image role', DEFAULT_ROLE)
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .requiredOption('-k, --key <file>', 'minisign secret key (tfw keygen --signing -o FILE)')
    .requiredOption('-o, --output <file>', 'the bundle, e.g. 3router-1.1.0.tfwup (the signature goes to FILE.minisig)')
    .option('--append <word>', 'extra kernel command-line word for the slot (repeatable)', collect, [])
    .option('--json', 'print the bundle manifest as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  tfw keygen --signing -o release.key\n  tfw build --trust release.key.pub --image-version 1.1.0\n' +
        '  tfw release --key release.key -o 3router-1.1.0.tfwup\n  minisign -Vm 3router-1.1.0.tfwup -p release.key.pub\n  tfw upgrade --device http://192.168.1.1 3router-1.1.0.tfwup',
    )
    .action(async (f: ReleaseFlags) => {
      const dir = f.dir ?? imageDir(loadBoard(f.board).name, loadRole(f.role).role);
      const r = await makeRelease({ dir, keyFile: f.key, output: f.output, append: f.append });
      if (f.json) process.stdout.write(`${JSON.stringify({ output: r.output, signature: r.signature, bytes: r.bytes, ...r.manifest }, null, 2)}\n`);
      process.stderr.write(`tfw: release: wrote ${r.output} (${(r.bytes / 1048576).toFixed(1)} MiB, ${r.manifest.board}-${r.manifest.role} ${r.manifest.version}) and ${r.signature}\n`);
    });
}
