#!/usr/bin/env node
// `tfw` CLI entry: loads the TypeScript sources through tsx (a dependency), so
// the CLI always matches the checkout. The image runtime is bundled separately.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli.ts');
process.exitCode = await main(process.argv.slice(2));
