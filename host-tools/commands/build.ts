/**
 * `tfw build`: build a bootable image for a board and role into
 * build/images/<board>-<role>/ (vmlinuz, initramfs.cpio.zst, cmdline, boot.ipxe,
 * manifest.json). `--update-lock` re-pins the Debian packages instead.
 */
import { Option, type Command } from 'commander';
import { buildImage } from '../../images/builder/image.js';
import { updateLock } from '../../images/builder/lock.js';
import { lockPath } from '../../images/builder/paths.js';
import { makeProgress } from '../../images/builder/progress.js';
import { listBoards, loadBoard, DEFAULT_BOARD, DEFAULT_ROLE } from '../../images/builder/schema.js';

interface BuildFlags {
  board: string;
  role: string;
  config?: string;
  output?: string;
  /** The old spelling of --output, kept hidden so scripts keep working. */
  out?: string;
  json?: boolean;
  updateLock?: boolean;
  quiet?: boolean;
  trust: string[];
  imageVersion?: string;
  adminPasswordFile?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('build')
    .description('Build a bootable image for a board and role')
    .option('-b, --board <board>', 'board name (board-configs/<board>.yaml) or path', DEFAULT_BOARD)
    .option('-r, --role <role>', 'image role: 3router, 3node or aibox', DEFAULT_ROLE)
    .option('-c, --config <file>', 'overlay config (YAML, JSON, CBOR or wg-quick .conf; privateKey optional) checked and baked in as /etc/tfw/config.cbor')
    .option('-o, --output <dir>', 'output folder (default build/images/<board>-<role>)')
    .addOption(new Option('--out <dir>', 'old spelling of --output').hideHelp())
    .option('--trust <file>', 'minisign public key (tfw keygen --signing makes one) whose signed releases the image installs (repeatable)', collect, [])
    .option('--admin-password-file <file>', "the device API's admin password (first line of the file, at least 8 characters), stored hashed in the image; a password set on the device replaces it")
    .option('--image-version <version>', 'release version of the image, e.g. 1.2.0 (default: the tfw version); devices refuse to upgrade to an older one')
    .option('--json', 'print the manifest as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--update-lock', 'resolve the package closure again and rewrite images/packages.lock.json')
    .addHelpText('after', '\nExamples:\n  tfw build --board qemu-arm64 --role 3node\n  tfw build --trust release.key.pub --image-version 1.1.0\n  tfw build --admin-password-file admin.txt\n  tfw build --update-lock')
    .action((f: BuildFlags) => {
      const progress = makeProgress({ quiet: f.quiet || f.json });
      if (f.updateLock) {
        const flavours = [...new Set(listBoards().map((b) => loadBoard(b).kernel.flavour))];
        const lock = updateLock(lockPath(), flavours, progress);
        if (f.json) process.stdout.write(`${JSON.stringify(lock, null, 2)}\n`);
        return;
      }
      const { outDir, manifest } = buildImage({ board: f.board, role: f.role, config: f.config, outDir: f.output ?? f.out, progress, trust: f.trust, version: f.imageVersion, adminPasswordFile: f.adminPasswordFile });
      if (f.json) process.stdout.write(`${JSON.stringify({ outDir, ...manifest }, null, 2)}\n`);
      else if (!f.quiet) for (const o of manifest.outputs) process.stdout.write(`${o.sha256}  ${outDir}/${o.path} (${o.size} bytes)\n`);
    });
}
