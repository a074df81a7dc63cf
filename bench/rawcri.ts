// The raw CRI floor the startup benches compare nodelet against: `count` pods (sandbox + one
// busybox `sleep` container) started straight through the CRI client, all at once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CriClient } from '../src/runtime/cri/index.js';
import type { PodSandboxConfig } from '../src/runtime/index.js';

export interface RawStartOptions {
  count: number;
  image: string;
  /** Where the sandboxes' log directories go. */
  logDir: string;
  /** Labels on sandboxes and containers (what the bench's clean-up selects). */
  labels: Record<string, string>;
}

/** Starts the pods at once; per-pod time to its container started (ms from the start), all, and the sandbox ids. */
export async function rawStart(rt: CriClient, o: RawStartOptions): Promise<{ perPod: number[]; all: number; ids: string[] }> {
  const t0 = performance.now();
  const perPod: number[] = [];
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: o.count }, async (_, i) => {
      const uid = `raw-${Date.now()}-${i}`;
      const cfg: PodSandboxConfig = {
        metadata: { name: `raw${i}`, namespace: 'bench-raw', uid, attempt: 0 },
        hostname: `raw${i}`,
        logDirectory: join(o.logDir, `bench-raw_${uid}`),
        labels: o.labels,
        linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      };
      mkdirSync(cfg.logDirectory!, { recursive: true });
      const sb = await rt.runPodSandbox(cfg);
      ids.push(sb);
      const c = await rt.createContainer(sb, { metadata: { name: 'main', attempt: 0 }, image: { image: o.image }, command: ['sh', '-c', 'exec sleep 3600'], logPath: 'main/0.log', labels: o.labels }, cfg);
      await rt.startContainer(c);
      perPod.push(performance.now() - t0);
    }),
  );
  return { perPod, all: performance.now() - t0, ids };
}
