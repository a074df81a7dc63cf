// bench/cri-latency: p50/p99 of each CRI call against containerd through nodelet's CRI client,
// and the time to start N pods (sandbox + one busybox container) one after another and all at
// once: the floor every later pod-startup benchmark is compared with.
//
//   node --import tsx bench/cri-latency.ts [--pods 20] [--iterations 40] [--json out.json]
//
// Needs the runtime from scripts/runtime-up.sh. Prints a table; the reference column holds the
// figures measured on these machines with the same containerd (../shared/NOTES.md).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CriClient } from '../src/runtime/cri/index.js';
import type { PodSandboxConfig, Runtime } from '../src/runtime/index.js';
import { testRuntimeEnv } from '../test/runtime-env.js';
import { formatTable } from '../src/cli/table.js';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '20' },
    iterations: { type: 'string', default: '40' },
    json: { type: 'string' },
  },
});
const podCount = Number(args.pods);
const iterations = Number(args.iterations);

/** Reference figures from ../shared/NOTES.md (containerd 1.6 on this machine kind). */
const reference: Record<string, string> = {
  RunPodSandbox: '330-460 ms',
  CreateContainer: '30-50 ms',
  StartContainer: '~200 ms',
  ListContainers: '~5 ms',
  ContainerStatus: '8-22 ms',
  ExecSync: '~110 ms',
  StopContainer: '240-520 ms',
  StopPodSandbox: '220-330 ms',
  'start pods, concurrency 1': `~12 s for 20`,
  [`start pods, concurrency ${podCount}`]: `~8.5 s for 20`,
};

const samples = new Map<string, number[]>();
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const list = samples.get(name) ?? [];
    list.push(performance.now() - t0);
    samples.set(name, list);
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const progress = (msg: string): void => void process.stderr.write(`[cri-latency] ${msg}\n`);

const env = testRuntimeEnv();
const rt: Runtime = await CriClient.connect({ endpoint: env.endpoint });
const logRoot = mkdtempSync(join(env.podLogDir, 'bench-'));
const runId = Date.now().toString(36);

function sandboxConfig(i: number, tag: string): PodSandboxConfig {
  const name = `bench-${tag}-${i}`;
  const uid = `${runId}-${tag}-${i}`;
  const logDirectory = join(logRoot, `bench_${name}_${uid}`);
  mkdirSync(join(logDirectory, 'sleeper'), { recursive: true });
  return {
    metadata: { name, namespace: 'bench', uid, attempt: 0 },
    hostname: name,
    logDirectory,
    labels: { 'nodelet.dev/bench': runId },
    linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

interface StartedPod {
  sandboxId: string;
  containerId: string;
}

async function startPod(i: number, tag: string): Promise<StartedPod> {
  const cfg = sandboxConfig(i, tag);
  const sandboxId = await timed('RunPodSandbox', () => rt.runPodSandbox(cfg));
  const containerId = await timed('CreateContainer', () =>
    rt.createContainer(sandboxId, { metadata: { name: 'sleeper', attempt: 0 }, image: { image: env.testImage }, command: ['sleep', '3600'], logPath: 'sleeper/0.log' }, cfg),
  );
  await timed('StartContainer', () => rt.startContainer(containerId));
  return { sandboxId, containerId };
}

async function stopPod(p: StartedPod): Promise<void> {
  await timed('StopContainer', () => rt.stopContainer(p.containerId, 2));
  await timed('RemoveContainer', () => rt.removeContainer(p.containerId));
  await timed('StopPodSandbox', () => rt.stopPodSandbox(p.sandboxId));
  await timed('RemovePodSandbox', () => rt.removePodSandbox(p.sandboxId));
}

/** Starts podCount pods with the given concurrency; returns wall time and the started pods. */
async function startMany(concurrency: number, tag: string): Promise<{ ms: number; pods: StartedPod[]; perPod: number[] }> {
  const pods: StartedPod[] = [];
  const perPod: number[] = [];
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < podCount) {
      const i = next++;
      const p0 = performance.now();
      pods.push(await startPod(i, tag));
      perPod.push(performance.now() - p0);
      done++;
      if (done % 5 === 0 || done === podCount) progress(`concurrency ${concurrency}: ${done}/${podCount} pods running after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, podCount) }, worker));
  return { ms: performance.now() - t0, pods, perPod };
}

const results: Record<string, unknown> = {};
try {
  // warm up: connection, image resolution
  await rt.version();
  await rt.listContainers();

  progress(`starting ${podCount} pods one after another`);
  const seq = await startMany(1, 'seq');

  const probe = seq.pods[0]!;
  progress(`${iterations} iterations of the read-only calls`);
  for (let i = 0; i < iterations; i++) {
    await timed('Version', () => rt.version());
    await timed('Status', () => rt.status());
    await timed('ListPodSandbox', () => rt.listPodSandbox());
    await timed('PodSandboxStatus', () => rt.podSandboxStatus(probe.sandboxId));
    await timed('ListContainers', () => rt.listContainers());
    await timed('ContainerStatus', () => rt.containerStatus(probe.containerId));
    await timed('ContainerStats', () => rt.containerStats(probe.containerId));
    await timed('ListContainerStats', () => rt.listContainerStats());
    await timed('ListImages', () => rt.listImages());
    await timed('ImageStatus', () => rt.imageStatus(env.testImage));
    await timed('ImageFsInfo', () => rt.imageFsInfo());
    if (i < Math.min(iterations, 20)) await timed('ExecSync', () => rt.execSync(probe.containerId, ['true'], 10));
  }

  progress(`stopping ${seq.pods.length} pods`);
  for (const p of seq.pods) await stopPod(p);

  progress(`starting ${podCount} pods at once`);
  const par = await startMany(podCount, 'par');
  progress(`stopping ${par.pods.length} pods`);
  await Promise.all(par.pods.map((p) => stopPod(p)));

  const rows: string[][] = [];
  for (const [name, list] of [...samples].sort((a, b) => a[0].localeCompare(b[0]))) {
    const sorted = [...list].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    results[name] = { n: sorted.length, p50Ms: +p50.toFixed(2), p99Ms: +p99.toFixed(2) };
    rows.push([name, String(sorted.length), `${p50.toFixed(1)} ms`, `${p99.toFixed(1)} ms`, reference[name] ?? '']);
  }
  const seqSorted = [...seq.perPod].sort((a, b) => a - b);
  const parSorted = [...par.perPod].sort((a, b) => a - b);
  rows.push([`start pods, concurrency 1`, String(podCount), `${(seq.ms / 1000).toFixed(2)} s total`, `per pod p50 ${(quantile(seqSorted, 0.5) / 1000).toFixed(2)} s`, reference['start pods, concurrency 1'] ?? '']);
  rows.push([`start pods, concurrency ${podCount}`, String(podCount), `${(par.ms / 1000).toFixed(2)} s total`, `per pod p50 ${(quantile(parSorted, 0.5) / 1000).toFixed(2)} s`, reference[`start pods, concurrency ${podCount}`] ?? '']);
  results['startPodsSequentialSeconds'] = +(seq.ms / 1000).toFixed(3);
  results['startPodsConcurrentSeconds'] = +(par.ms / 1000).toFixed(3);
  results['pods'] = podCount;

  process.stdout.write(`\nCRI latency against ${env.endpoint} (${(await rt.version()).runtimeName} ${(await rt.version()).runtimeVersion})\n\n`);
  process.stdout.write(formatTable(['call', 'n', 'p50', 'p99', 'reference (NOTES.md)'], rows));
  if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
} finally {
  // leave nothing behind, even after a failure
  for (const s of await rt.listPodSandbox({ labelSelector: { 'nodelet.dev/bench': runId } }).catch(() => [])) {
    await rt.stopPodSandbox(s.id).catch(() => undefined);
    await rt.removePodSandbox(s.id).catch(() => undefined);
  }
  rt.close();
  rmSync(logRoot, { recursive: true, force: true });
}
