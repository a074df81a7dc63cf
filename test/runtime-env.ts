// Where the test runtime from scripts/runtime-up.sh is: read from the environment, else from
// its env file ($NODELET_RUNTIME_DIR/env, default /var/lib/nodelet-runtime/env).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TestRuntimeEnv {
  available: boolean;
  reason: string;
  endpoint: string;
  registry: string;
  testImage: string;
  pauseImage: string;
  podLogDir: string;
  runtimeDir: string;
  projectRoot: string;
}

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export function testRuntimeEnv(): TestRuntimeEnv {
  const runtimeDir = process.env['NODELET_RUNTIME_DIR'] ?? '/var/lib/nodelet-runtime';
  const file = readEnvFile(join(runtimeDir, 'env'));
  const get = (k: string, d: string): string => process.env[k] ?? file[k] ?? d;
  const endpoint = get('CONTAINER_RUNTIME_ENDPOINT', `unix://${runtimeDir}/containerd.sock`);
  const sock = endpoint.replace(/^unix:\/\//, '');
  let available = false;
  try {
    available = statSync(sock).isSocket();
  } catch {
    available = false;
  }
  const required = process.env['NODELET_REQUIRE_RUNTIME'] === '1';
  return {
    available: available || required,
    reason: available ? '' : `no container runtime at ${endpoint}: run scripts/runtime-up.sh (or set NODELET_REQUIRE_RUNTIME=1 to fail instead of skipping)`,
    endpoint,
    registry: get('NODELET_REGISTRY', '127.0.0.1:5000'),
    testImage: get('NODELET_TEST_IMAGE', 'localhost/busybox:latest'),
    pauseImage: get('NODELET_PAUSE_IMAGE', 'localhost/pause:3.9'),
    podLogDir: get('NODELET_POD_LOG_DIR', join(runtimeDir, 'pod-logs')),
    runtimeDir,
    projectRoot,
  };
}
