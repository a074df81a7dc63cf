#!/usr/bin/env node
// nodelet's entry point. It runs the compiled JavaScript in dist/ when that is up to date with
// src/ (`npm run build`: about 30 MiB less memory and a faster start), and otherwise the
// TypeScript sources directly through tsx, so an edit runs at once without a build step.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let entry;
if (process.env.NODELET_FROM_SOURCE !== '1' && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(join(root, 'src'))) {
  entry = pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href;
}
const { main } = await import(entry);
await main(process.argv);
