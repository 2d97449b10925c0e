/** `tfw boot`: Boot an image in QEMU (tcg) with the serial console on stdout. */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('boot')
    .description('Boot an image in QEMU (tcg) with the serial console on stdout')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
