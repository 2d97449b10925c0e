/** `tfw runtime`: Run the tfw runtime (overlay router) on this host. */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('runtime')
    .description('Run the tfw runtime (overlay router) on this host')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
