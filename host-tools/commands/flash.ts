/** `tfw flash`: Write a flashable image to a block device or file. */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('flash')
    .description('Write a flashable image to a block device or file')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
