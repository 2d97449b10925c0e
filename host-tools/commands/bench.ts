/** `tfw bench`: Run the kernel benchmarks (same as make bench). */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run the kernel benchmarks (same as make bench)')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
