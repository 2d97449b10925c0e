/** `tfw keygen`: Generate an overlay key pair (like wg genkey / wg pubkey). */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Generate an overlay key pair (like wg genkey / wg pubkey)')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
