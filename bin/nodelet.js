#!/usr/bin/env node
// nodelet runs its TypeScript sources through tsx: no build step between editing and running.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
