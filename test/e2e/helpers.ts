// Helpers for tests against the real runtime: spawning the nodelet CLI, waiting in real time.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Runtime } from '../../src/runtime/index.js';
import { projectRoot } from '../runtime-env.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/nodelet.js with args; resolves with its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/nodelet.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nodelet ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Stops and removes every sandbox (with its containers) of a namespace: test clean-up. */
export async function removePodsInNamespace(rt: Runtime, namespace: string): Promise<void> {
  for (const s of await rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.namespace': namespace } })) {
    await rt.stopPodSandbox(s.id).catch(() => undefined);
    await rt.removePodSandbox(s.id).catch(() => undefined);
  }
}

/** Polls fn in real time until it returns a value other than undefined/false. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
