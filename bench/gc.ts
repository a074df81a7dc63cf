// bench/gc: what one garbage collection pass costs: wall time and CRI calls.
//
//   node --import tsx bench/gc.ts [--images 200] [--pods 100] [--dead 5] [--real] [--json out.json]
//
// Simulated runtime (always): `images` images and pods × dead exited containers (every pod's
// container crash-looped `dead` times; a fifth of the pods are deleted, their sandboxes stopped),
// with pod log and cgroup directories in a temporary directory. Passes measured: container GC
// (per-pod cap 1, deleted pods removed whole), image GC's first pass (records only), and image GC
// freeing down to the low threshold 3 minutes later.
//
// --real: also one container GC pass against the test containerd (scripts/runtime-up.sh) on a pod
// of its own (a unique node name, so nothing of anyone else is touched) with 5 dead containers,
// plus one deleted pod with 2; and one image GC pass with the high threshold at 100 % (it lists
// and measures, and removes no shared image).

import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/table.js';
import { ImageGCManager } from '../src/kubelet/images/imagegc.js';
import { ContainerGC } from '../src/kubelet/kuberuntime/gc.js';
import { containerNameLabel, nodeNameLabel, podNameLabel, podNamespaceLabel, podUidLabel } from '../src/kubelet/kuberuntime/labels.js';
import { CriClient } from '../src/runtime/cri/index.js';
import { SimRuntime } from '../src/runtime/sim/index.js';
import type { PodSandboxConfig, Runtime } from '../src/runtime/types.js';
import { FakeClock, RealClock } from '../src/util/clock.js';
import { testRuntimeEnv } from '../test/runtime-env.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    pods: { type: 'string', default: '100' },
    dead: { type: 'string', default: '5' },
    real: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const imageCount = Number(args.images);
const podCount = Number(args.pods);
const deadPerPod = Number(args.dead);
const NODE = 'bench-node';
const MB = 1024 * 1024;
const progress = (msg: string): void => void process.stderr.write(`[gc] ${msg}\n`);

interface Row {
  pass: string;
  ms: number;
  calls: Record<string, number>;
  outcome: string;
}
const rows: Row[] = [];

/** Counts calls per method name on any runtime. */
function counting<T extends object>(target: T, calls: Map<string, number>): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (v as (...x: unknown[]) => unknown).apply(t, a);
      };
    },
  });
}

async function measure<T>(pass: string, calls: Map<string, number>, fn: () => Promise<T>, outcome: (r: T) => string): Promise<T> {
  calls.clear();
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  rows.push({ pass, ms, calls: Object.fromEntries(calls), outcome: outcome(r) });
  return r;
}

// ---------------------------------------------------------------- simulated runtime

async function simBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-bench-gc-'));
  const clock = new FakeClock(Date.now());
  const images = Array.from({ length: imageCount }, (_, i) => ({ ref: `localhost/bench-${i}:1`, size: 50 * MB + i }));
  const sim = new SimRuntime({ clock, images: [...images, { ref: 'localhost/pause:3.9', size: MB }] });
  const cleanup: (() => void)[] = [];
  try {
    const logsDir = join(dir, 'pods');
    // cgroupfs is in memory: a tmpfs stands in for it (rmdir on ext4 costs ten times more)
    const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/nodelet-bench-gc-') : undefined;
    cleanup.push(() => shm && rmSync(shm, { recursive: true, force: true }));
    const cgroupRoot = join(shm ?? dir, 'cgroup');
    const controllers = ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'systemd', 'unified'];
    const old = new Date(clock.now() - 10 * 60_000);
    const mkCgroups = (id: string): void => {
      for (const c of controllers) mkdirSync(join(cgroupRoot, c, 'k8s.io', id), { recursive: true });
    };
    const existing = new Set<string>();
    progress(`simulated: ${podCount} pods × ${deadPerPod} dead containers, ${imageCount} images`);
    for (let p = 0; p < podCount; p++) {
      const name = `pod-${p}`;
      const uid = `uid-${p}`;
      const deleted = p % 5 === 4;
      if (!deleted) existing.add(uid);
      const logDir = join(logsDir, `bench_${name}_${uid}`);
      mkdirSync(logDir, { recursive: true });
      utimesSync(logDir, old, old);
      const labels = { [podNameLabel]: name, [podNamespaceLabel]: 'bench', [podUidLabel]: uid, [nodeNameLabel]: NODE };
      const cfg: PodSandboxConfig = { metadata: { name, namespace: 'bench', uid, attempt: 0 }, labels };
      const sb = await sim.runPodSandbox(cfg);
      mkCgroups(sb);
      for (let a = 0; a < deadPerPod; a++) {
        const id = await sim.createContainer(sb, { metadata: { name: 'app', attempt: a }, image: { image: images[(p * deadPerPod + a) % imageCount]!.ref }, command: ['sh', '-c', 'exit 1'], labels: { ...labels, [containerNameLabel]: 'app' } }, cfg);
        await sim.startContainer(id);
        sim.exitContainer(id, 1);
        mkCgroups(id);
        await clock.advance(10);
      }
      if (deleted) await sim.stopPodSandbox(sb);
    }

    const cgc = new ContainerGC({
      runtime: sim,
      clock,
      nodeName: NODE,
      podStateProvider: { isPodDeleted: (uid) => !existing.has(uid), isPodTerminated: () => false },
      podLogsDir: logsDir,
      cgroupRoot,
    });
    await measure('container GC (sim)', sim.calls, () => cgc.garbageCollect(), (r) => `${r.containersRemoved} containers, ${r.sandboxesRemoved} sandboxes, ${r.logDirsRemoved} log dirs, ${r.cgroupDirsRemoved} cgroup dirs removed`);
    await measure('container GC again (sim)', sim.calls, () => cgc.garbageCollect(), (r) => `${r.containersRemoved} containers removed`);

    // image filesystem: 200 × 50 MiB of images on a disk at 90 % usage
    const capacity = Math.ceil((imageCount * 50 * MB) / 0.6);
    let imagesUsed = 0;
    const imageRuntime = {
      listImages: sim.listImages.bind(sim),
      listContainers: sim.listContainers.bind(sim),
      removeImage: sim.removeImage.bind(sim),
      imageFsInfo: async () => {
        const info = await sim.imageFsInfo();
        imagesUsed = info.imageFilesystems[0]?.usedBytes?.value ?? 0;
        return info;
      },
    };
    const other = capacity * 0.9 - imageCount * 50 * MB;
    const igc = new ImageGCManager({
      runtime: imageRuntime,
      clock,
      nodeName: NODE,
      sandboxImage: 'localhost/pause:3.9',
      statfs: async () => ({ capacityBytes: capacity, availableBytes: Math.max(0, capacity - other - imagesUsed), inodes: 0, inodesFree: 0 }),
    });
    await measure('image GC, first pass (sim)', sim.calls, () => igc.garbageCollect().catch((e: unknown) => e as Error), (r) => (r instanceof Error ? `FreeDiskSpaceFailed (all images first detected now): ${r.message.slice(0, 40)}…` : `${r.removed.length} removed`));
    await clock.advance(3 * 60_000);
    await measure('image GC at 90 % usage (sim)', sim.calls, () => igc.garbageCollect(), (r) => `usage ${r.usagePercent} %: ${r.removed.length} images, ${(r.bytesFreed / MB).toFixed(0)} MiB freed (${(r.bytesToFree / MB).toFixed(0)} MiB asked)`);
  } finally {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
    for (const f of cleanup) f();
  }
}

// ---------------------------------------------------------------- real containerd

async function realBench(): Promise<void> {
  const env = testRuntimeEnv();
  if (!env.available) {
    progress(`skipping --real: ${env.reason}`);
    return;
  }
  const calls = new Map<string, number>();
  const client = await CriClient.connect({ endpoint: env.endpoint });
  const rt: Runtime = counting(client, calls);
  const runId = Date.now().toString(36);
  const node = `bench-gc-${runId}`;
  const logRoot = mkdtempSync(join(env.podLogDir, 'bench-gc-'));
  const clock = new RealClock();
  const deletedUid = `${runId}-deleted`;
  try {
    progress('real: creating 7 dead containers in 2 pods');
    const makePod = async (name: string, uid: string, dead: number): Promise<string> => {
      const logDirectory = join(logRoot, `bench_${name}_${uid}`);
      mkdirSync(join(logDirectory, 'app'), { recursive: true });
      const labels = { [podNameLabel]: name, [podNamespaceLabel]: 'bench', [podUidLabel]: uid, [nodeNameLabel]: node };
      const cfg: PodSandboxConfig = {
        metadata: { name, namespace: 'bench', uid, attempt: 0 },
        hostname: name,
        logDirectory,
        labels,
        linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      };
      const sb = await client.runPodSandbox(cfg);
      for (let a = 0; a < dead; a++) {
        const id = await client.createContainer(sb, { metadata: { name: 'app', attempt: a }, image: { image: env.testImage }, command: ['sh', '-c', 'exit 1'], logPath: `app/${a}.log`, labels: { ...labels, [containerNameLabel]: 'app' } }, cfg);
        await client.startContainer(id);
      }
      return sb;
    };
    await makePod('crashy', `${runId}-crashy`, 5);
    const goneSb = await makePod('gone', deletedUid, 2);
    await client.stopPodSandbox(goneSb);
    await new Promise((r) => setTimeout(r, 500)); // let the last container exit
    const cgc = new ContainerGC({
      runtime: rt,
      clock,
      nodeName: node,
      podStateProvider: { isPodDeleted: (uid) => uid === deletedUid, isPodTerminated: () => false },
      podLogsDir: '', // a shared directory: the bench removes its own
      cgroupRoot: '', // shared cgroups: not swept by a bench
    });
    await measure('container GC (containerd)', calls, () => cgc.garbageCollect(), (r) => `${r.containersRemoved} containers, ${r.sandboxesRemoved} sandboxes removed, ${r.failures} failures`);
    await measure('container GC again (containerd)', calls, () => cgc.garbageCollect(), (r) => `${r.containersRemoved} containers removed`);
    const igc = new ImageGCManager({ runtime: rt, clock, nodeName: node, sandboxImage: env.pauseImage, policy: { highThresholdPercent: 100, lowThresholdPercent: 80 } });
    await measure('image GC, high threshold 100 % (containerd)', calls, () => igc.garbageCollect(), (r) => `usage ${r.usagePercent} %, ${igc.getImageList().length} images, ${igc.getImagesInUse().size} in use, ${r.removed.length} removed`);
  } finally {
    for (const s of await client.listPodSandbox({ labelSelector: { [nodeNameLabel]: node } }).catch(() => [])) {
      await client.stopPodSandbox(s.id).catch(() => undefined);
      await client.removePodSandbox(s.id).catch(() => undefined);
    }
    client.close();
    rmSync(logRoot, { recursive: true, force: true });
  }
}

await simBench();
if (args.real) await realBench();

const fmtCalls = (c: Record<string, number>): string =>
  Object.entries(c)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
process.stdout.write(`\nGC passes (${imageCount} images, ${podCount} pods × ${deadPerPod} dead containers on the simulated runtime)\n\n`);
process.stdout.write(formatTable(['pass', 'wall', 'CRI calls', 'outcome'], rows.map((r) => [r.pass, `${r.ms.toFixed(1)} ms`, fmtCalls(r.calls), r.outcome])));
if (args.json) {
  writeFileSync(args.json, JSON.stringify(rows, null, 2) + '\n');
}
