#!/usr/bin/env node
// The CLI is written in TypeScript and runs through tsx's loader, so `npx bonestream`
// works straight from a checkout after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
