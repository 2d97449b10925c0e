/**
 * `tfw keygen`: overlay keys, like wg(8): `tfw keygen` prints a new private key
 * (base64, like `wg genkey`), `tfw keygen --public` reads a private key on stdin
 * and prints its public key (like `wg pubkey`), `--json` prints
 * `{ privateKey, publicKey, address }` with the node's overlay /64.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../runtime/errors.js';
import { isKey32 } from '../../runtime/config/schema.js';
import { overlaySubnet } from '../../runtime/overlay/address.js';
import { fromBase64, generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/keys.js';

/** The three keygen outputs for a private key (base64) or a new one. */
export function keygen(privateKeyB64?: string): { privateKey: string; publicKey: string; address: string } {
  const priv = privateKeyB64 === undefined ? generatePrivateKey() : fromBase64(privateKeyB64);
  const pub = publicKeyFromPrivate(priv);
  return { privateKey: toBase64(priv), publicKey: toBase64(pub), address: overlaySubnet(pub) };
}

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Generate an overlay key pair (like wg genkey / wg pubkey)')
    .option('--public', 'read a private key on stdin and print its public key (like wg pubkey)')
    .option('--json', 'print { privateKey, publicKey, address } (with --public: of the key read on stdin)')
    .action((opts: { public?: boolean; json?: boolean }) => {
      let priv: string | undefined;
      if (opts.public) {
        priv = readFileSync(0, 'utf8').trim();
        if (!isKey32(priv)) throw new ConfigError('stdin', 'expected a private key: base64 of 32 bytes (as `tfw keygen` prints)');
      }
      const k = keygen(priv);
      if (opts.json) process.stdout.write(`${JSON.stringify(k)}\n`);
      else process.stdout.write(`${opts.public ? k.publicKey : k.privateKey}\n`);
    });
}
