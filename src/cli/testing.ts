// Runs the nodelet CLI in-process for tests (imported by *.test.ts only).

import { buildProgram } from './main.js';

/** Runs `nodelet ARGS` in-process, returning what it wrote and the exit status it set. */
export async function runInProcess(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const saved = process.exitCode;
  process.exitCode = 0;
  // Only strings are the command's: the test runner reports to its parent over stdout in binary
  // chunks, which must pass through untouched.
  const capture = (into: string[], orig: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => (typeof chunk === 'string' ? (into.push(chunk), true) : (orig as (...a: unknown[]) => boolean)(chunk, ...rest))) as typeof process.stdout.write;
  process.stdout.write = capture(out, origOut);
  process.stderr.write = capture(err, origErr);
  try {
    await buildProgram().parseAsync(['node', 'nodelet', ...args]);
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = saved;
  return { out: out.join(''), err: err.join(''), code };
}
