// bench/pod-startup: static pod startup and deletion through nodelet, against the raw CRI client
// at the same concurrency, on real containerd.
//
//   node --import tsx bench/pod-startup.ts [--sizes 1,10,30,60] [--steady 10] [--json out.json]
//
// For each N: N manifests written at once (dot-file + rename) -> time until each pod's container is
// RUNNING as seen through CRI (polled every 50 ms); p50/p99/all. Then the manifests are deleted ->
// time until each pod has no running container, and until its containers and sandbox are gone.
// The same N pods are then started through the raw CRI client (sandbox, create, start, all at
// once) and the ratio nodelet/raw is printed. At 0, 30 and 60 pods nodelet's RSS, CPU and PLEG
// relist duration are sampled over a steady window, the relist against the raw List calls.

import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/table.js';
import { CriClient } from '../src/runtime/cri/index.js';
import { testRuntimeEnv } from '../test/runtime-env.js';
import { NodeletProcess } from '../test/e2e/nodelet-process.js';
import { rawStart } from './rawcri.js';

const { values: args } = parseArgs({
  options: { sizes: { type: 'string', default: '1,10,30,60' }, steady: { type: 'string', default: '10' }, json: { type: 'string' } },
});
const sizes = args.sizes.split(',').map(Number);
const steadySeconds = Number(args.steady);
const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'bench';
const progress = (m: string): void => void process.stderr.write(`[pod-startup] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function q(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
}

const rt = await CriClient.connect({ endpoint: env.endpoint });
await rt.pullImage(image);

/** Polls CRI until pred holds for every key; returns when each key first satisfied it (ms since t0). */
async function watchUntil(keys: string[], pred: (running: Set<string>, present: Set<string>, key: string) => boolean, t0: number, timeoutMs: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const end = performance.now() + timeoutMs;
  while (seen.size < keys.length && performance.now() < end) {
    const cs = await rt.listContainers({ labelSelector: { 'io.kubernetes.pod.namespace': ns } });
    const sbs = await rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.namespace': ns } });
    const running = new Set(cs.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => c.labels['io.kubernetes.pod.name']!));
    const present = new Set([...cs.map((c) => c.labels['io.kubernetes.pod.name']!), ...sbs.map((s) => s.labels['io.kubernetes.pod.name']!)]);
    const now = performance.now();
    for (const k of keys) if (!seen.has(k) && pred(running, present, k)) seen.set(k, now - t0);
    await sleep(50);
  }
  if (seen.size < keys.length) throw new Error(`timed out: ${seen.size}/${keys.length} done`);
  return seen;
}

function manifest(i: number): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: p${i}, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: sleep
      image: ${image}
      command: ["sleep", "3600"]
`;
}

interface Sample {
  rssMiB: number;
  cpuCores: number;
  relistMeanMs: number;
  rawListMeanMs: number;
}

/** RSS, CPU (cores) and PLEG relist mean over a window, with the raw list calls timed alongside. */
async function steady(n: NodeletProcess, seconds: number): Promise<Sample> {
  const ticks = (): number => n.cpuTicks();
  const relist = async (): Promise<[number, number]> => {
    const text = await (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
    const sum = Number(/^kubelet_pleg_relist_duration_seconds_sum (\S+)/m.exec(text)?.[1] ?? 0);
    const count = Number(/^kubelet_pleg_relist_duration_seconds_count (\S+)/m.exec(text)?.[1] ?? 0);
    return [sum, count];
  };
  const [s0, c0] = await relist();
  const t0 = ticks();
  const w0 = performance.now();
  const raw: number[] = [];
  while (performance.now() - w0 < seconds * 1000) {
    const a = performance.now();
    await Promise.all([rt.listPodSandbox(), rt.listContainers()]);
    raw.push(performance.now() - a);
    await sleep(1000);
  }
  const cpu = (ticks() - t0) / 100 / ((performance.now() - w0) / 1000);
  const [s1, c1] = await relist();
  const rss = n.rssMiB();
  return { rssMiB: rss, cpuCores: cpu, relistMeanMs: c1 > c0 ? ((s1 - s0) / (c1 - c0)) * 1000 : NaN, rawListMeanMs: raw.reduce((a, b) => a + b, 0) / raw.length };
}


const rows: string[][] = [];
const results: Record<string, unknown> = {};
const resources: string[][] = [];
const n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'bench' });
await n.start();
const pid = n.pid;
try {
  progress(`nodelet pid ${pid}; sampling at 0 pods for ${steadySeconds} s`);
  const idle = await steady(n, steadySeconds);
  resources.push(['0', idle.rssMiB.toFixed(0), idle.cpuCores.toFixed(3), idle.relistMeanMs.toFixed(2), idle.rawListMeanMs.toFixed(2)]);

  for (const size of sizes) {
    const keys = Array.from({ length: size }, (_, i) => `p${i}-bench`);
    progress(`N=${size}: writing ${size} manifests`);
    const cpu0 = n.cpuTicks();
    const t0 = performance.now();
    for (let i = 0; i < size; i++) n.writeManifest(`p${i}.yaml`, manifest(i));
    const started = await watchUntil(keys, (running, _p, k) => running.has(k), t0, 300_000);
    const st = [...started.values()];
    const startCpu = (n.cpuTicks() - cpu0) / 100;
    progress(`N=${size}: all running after ${(Math.max(...st) / 1000).toFixed(2)} s; nodelet used ${startCpu.toFixed(2)} CPU-seconds`);
    if (size === 30 || size === 60) {
      await sleep(3000);
      const s = await steady(n, steadySeconds);
      resources.push([String(size), s.rssMiB.toFixed(0), s.cpuCores.toFixed(3), s.relistMeanMs.toFixed(2), s.rawListMeanMs.toFixed(2)]);
      results[`steady${size}`] = s;
    }
    const d0 = performance.now();
    for (let i = 0; i < size; i++) n.removeManifest(`p${i}.yaml`);
    const stopped = await watchUntil(keys, (running, _p, k) => !running.has(k), d0, 300_000);
    const removed = await watchUntil(keys, (_r, present, k) => !present.has(k), d0, 300_000);
    const sp = [...stopped.values()];
    const rm = [...removed.values()];
    progress(`N=${size}: all stopped after ${(Math.max(...sp) / 1000).toFixed(2)} s, removed after ${(Math.max(...rm) / 1000).toFixed(2)} s; raw CRI run`);

    const raw = await rawStart(rt, { count: size, image, logDir: env.podLogDir, labels: { 'nodelet.dev/bench': 'raw' } });
    for (const id of raw.ids) {
      await rt.stopPodSandbox(id);
      await rt.removePodSandbox(id);
    }
    const ratioAll = Math.max(...st) / raw.all;
    const ratioP50 = q(st, 0.5) / q(raw.perPod, 0.5);
    rows.push([
      String(size),
      `${(q(st, 0.5) / 1000).toFixed(2)} / ${(q(st, 0.99) / 1000).toFixed(2)} / ${(Math.max(...st) / 1000).toFixed(2)} s`,
      `${(q(raw.perPod, 0.5) / 1000).toFixed(2)} / ${(q(raw.perPod, 0.99) / 1000).toFixed(2)} / ${(raw.all / 1000).toFixed(2)} s`,
      `${ratioP50.toFixed(2)} / ${ratioAll.toFixed(2)}`,
      `${(q(sp, 0.5) / 1000).toFixed(2)} / ${(Math.max(...sp) / 1000).toFixed(2)} s`,
      `${(Math.max(...rm) / 1000).toFixed(2)} s`,
      `${startCpu.toFixed(2)} s`,
    ]);
    results[`n${size}`] = { startCpuSeconds: startCpu, startP50: q(st, 0.5), startP99: q(st, 0.99), startAll: Math.max(...st), rawP50: q(raw.perPod, 0.5), rawAll: raw.all, ratioAll, ratioP50, stopP50: q(sp, 0.5), stopAll: Math.max(...sp), removedAll: Math.max(...rm) };
  }
} finally {
  await n.stop();
  for (const s of await rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.namespace': ns } })) {
    await rt.stopPodSandbox(s.id).catch(() => undefined);
    await rt.removePodSandbox(s.id).catch(() => undefined);
  }
  for (const s of await rt.listPodSandbox({ labelSelector: { 'nodelet.dev/bench': 'raw' } })) {
    await rt.stopPodSandbox(s.id).catch(() => undefined);
    await rt.removePodSandbox(s.id).catch(() => undefined);
  }
  rt.close();
  n.cleanup();
}

process.stdout.write('\nStatic pod startup: manifests written at once -> container RUNNING (CRI), p50 / p99 / all\n\n');
process.stdout.write(formatTable(['N', 'nodelet start', 'raw CRI start (same concurrency)', 'ratio p50 / all', 'delete -> stopped p50 / all', 'delete -> removed all', 'nodelet CPU while starting'], rows));
process.stdout.write('\nnodelet at steady state (RSS, CPU of one core, PLEG relist mean vs the raw ListPodSandbox+ListContainers)\n\n');
process.stdout.write(formatTable(['pods', 'RSS MiB', 'CPU cores', 'relist ms', 'raw lists ms'], resources));
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
