/**
 * `tfw keygen`: overlay keys, like wg(8): `tfw keygen` prints a new private key
 * (base64, like `wg genkey`), `tfw keygen --public` reads a private key on stdin
 * and prints its public key (like `wg pubkey`), `--json` prints
 * `{ privateKey, publicKey, address, myceliumPublicKey, myceliumAddress }`:
 * `address` is the node's overlay /64 (as ARCHITECTURE.md has it), the same
 * key in Mycelium's form (hex), and `myceliumAddress` the node address, the
 * whole /128 inside that /64. One key gives one address on WireGuard and
 * Mycelium links (runtime/overlay/address.ts).
 * `tfw keygen --signing -o release.key` writes a release signing key pair in
 * minisign's format (`release.key`, mode 0600, and `release.key.pub`), as
 * `minisign -G -W` would.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, TfwError } from '../../runtime/errors.js';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';
import { myceliumKeyHex } from '../../runtime/overlay/mycelium/key.js';
import { fromBase64, generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/wireguard/keys.js';

/** The keygen outputs for a private key (base64) or a new one: one X25519 key, WireGuard base64 and Mycelium hex. */
export function keygen(privateKeyB64?: string): { privateKey: string; publicKey: string; address: string; myceliumPublicKey: string; myceliumAddress: string } {
  const priv = privateKeyB64 === undefined ? generatePrivateKey() : fromBase64(privateKeyB64);
  const pub = publicKeyFromPrivate(priv);
  return { privateKey: toBase64(priv), publicKey: toBase64(pub), address: overlaySubnet(pub), myceliumPublicKey: myceliumKeyHex(pub), myceliumAddress: overlayAddress(pub) };
}

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Generate an overlay key pair (like wg genkey / wg pubkey)')
    .option('--public', 'read a private key on stdin and print its public key (like wg pubkey)')
    .option('--json', 'print { privateKey, publicKey, address, myceliumPublicKey, myceliumAddress }: address is the node\'s overlay /64, myceliumAddress the node address in it (with --public: of the key read on stdin)')
    .option('--signing', 'make a release signing key pair (minisign format) instead: needs -o FILE; writes FILE (secret, 0600) and FILE.pub')
    .option('-o, --output <file>', 'with --signing: the secret key file')
    .option('-f, --force', 'with --signing: overwrite existing key files')
    .addHelpText('after', '\nExamples:\n  tfw keygen > node.key && tfw keygen --public < node.key\n  tfw keygen --signing -o release.key      # release.key + release.key.pub for tfw release / tfw build --trust')
    // minisign and the config schema (zod) are imported only by the branches that use them: a plain
    // `tfw keygen` stays fast (see docs/package.md, start-up).
    .action(async (opts: { public?: boolean; json?: boolean; signing?: boolean; output?: string; force?: boolean }) => {
      if (opts.signing) {
        if (!opts.output) throw new TfwError('ERR_TFW_USAGE', '--signing: needs -o FILE for the secret key (the public key goes to FILE.pub)');
        if (opts.public) throw new TfwError('ERR_TFW_USAGE', '--signing: makes a new pair; drop --public');
        for (const f of [opts.output, `${opts.output}.pub`]) {
          if (existsSync(f) && !opts.force) throw new TfwError('ERR_TFW_CONFIG', `--output: ${f} exists; pass --force to overwrite it`);
        }
        const { formatPublicKey, formatSecretKey, generateSigningKey, keyIdHex } = await import('../../runtime/device/minisign.js');
        const k = generateSigningKey();
        writeFileSync(opts.output, formatSecretKey(k), { mode: 0o600 });
        writeFileSync(`${opts.output}.pub`, formatPublicKey(k));
        if (opts.json) process.stdout.write(`${JSON.stringify({ keyId: keyIdHex(k.keyId), secretKey: opts.output, publicKey: `${opts.output}.pub` })}\n`);
        else process.stderr.write(`tfw: keygen: signing key ${keyIdHex(k.keyId)}: ${opts.output} (secret, keep it offline) and ${opts.output}.pub (give it to tfw build --trust)\n`);
        return;
      }
      if (opts.output) throw new TfwError('ERR_TFW_USAGE', '--output: goes with --signing');
      let priv: string | undefined;
      if (opts.public) {
        // Read asynchronously: a blocking read would keep Ctrl-C (main()'s SIGINT handler) from running.
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        priv = Buffer.concat(chunks).toString('utf8').trim();
        const { isKey32 } = await import('../../runtime/config/schema.js');
        if (!isKey32(priv)) throw new ConfigError('stdin', 'expected a private key: base64 of 32 bytes (as `tfw keygen` prints)');
      }
      const k = keygen(priv);
      if (opts.json) process.stdout.write(`${JSON.stringify(k)}\n`);
      else process.stdout.write(`${opts.public ? k.publicKey : k.privateKey}\n`);
    });
}
