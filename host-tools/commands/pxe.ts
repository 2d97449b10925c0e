/** `tfw pxe`: Serve an image over PXE (iPXE over HTTP/TFTP). */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';

export function register(program: Command): void {
  program
    .command('pxe')
    .description('Serve an image over PXE (iPXE over HTTP/TFTP)')
    .action(() => {
      throw new TfwError('ERR_TFW_NOT_IMPLEMENTED', 'not implemented yet');
    });
}
