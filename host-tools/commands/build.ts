/** `tfw build`: Build a bootable image for a board and role. */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('build')
    .description('Build a bootable image for a board and role')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
