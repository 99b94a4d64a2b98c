#!/usr/bin/env node
// Entry point: TypeScript support (tsx), then the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/cli.ts');
// Exit explicitly: any submission process still around is killed by the exit handler.
process.exit(await main(process.argv.slice(2)));
