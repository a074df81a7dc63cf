// bench/pleg-events: how long after a container exits the PLEG reports it (ContainerDied, with the
// new status already in the pod cache), with containerd's events waking the PLEG and without them
// (relisting every second only). Both PLEGs watch the same containers at the same time, so each
// exit is measured both ways. Also shows where the time goes: containerd publishes /tasks/exit
// within milliseconds, but its CRI plugin lists the container as exited only after deleting the
// task (~100-250 ms later; measured here by polling ListContainers every 10 ms from the event on),
// and the PLEG can only report what CRI lists.
//
//   node --import tsx bench/pleg-events.ts [--runs 20] [--json out.json]
//
// Needs the runtime from scripts/runtime-up.sh. Pods are made directly through CRI with the
// kubelet's labels (host network, busybox `sh -c 'sleep S; exit 0'` with S random in 0.3-1.3 s, so
// exits fall anywhere in the relist period) and removed afterwards.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { CriClient } from '../src/runtime/cri/index.js';
import type { PodSandboxConfig } from '../src/runtime/index.js';
import { GenericPLEG, PodStatusCache } from '../src/kubelet/pleg/index.js';
import { KubeRuntimeManager } from '../src/kubelet/kuberuntime/manager.js';
import { containerNameLabel, podNameLabel, podNamespaceLabel, podUidLabel } from '../src/kubelet/kuberuntime/labels.js';
import { LocalEventStore } from '../src/kubelet/events/index.js';
import { RealClock } from '../src/util/clock.js';
import { nopLogger } from '../src/util/logger.js';
import { formatTable } from '../src/cli/table.js';
import { testRuntimeEnv } from '../test/runtime-env.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' }, json: { type: 'string' } } });
const runs = Number(args.runs);
const env = testRuntimeEnv();
if (!env.available) {
  console.error(env.reason);
  process.exit(2);
}

const clock = new RealClock();
const rt = await CriClient.connect({ endpoint: env.endpoint });
const runId = `pleg-events-${process.pid}-${Date.now()}`;
const namespace = 'bench-pleg-events';
const dir = mkdtempSync(join(env.podLogDir, 'pleg-events-'));
const tmp = mkdtempSync(join(dir, 'root-'));

function makePleg(withEvents: boolean): { pleg: GenericPLEG; died: Map<string, number>; registry: Registry } {
  const registry = new Registry();
  const provider = new KubeRuntimeManager({
    runtime: rt,
    clock,
    logger: nopLogger,
    recorder: new LocalEventStore(clock, nopLogger),
    node: { nodeName: 'bench', hostIP: '127.0.0.1', resolvConf: '', clusterDNS: [], clusterDomain: 'cluster.local', memoryCapacity: 1 << 30, allocatableCpuMillis: 1000, allocatableMemory: 1 << 30 },
    rootDir: join(tmp, withEvents ? 'a' : 'b'),
    podLogsRoot: join(tmp, 'logs'),
  });
  const pleg = new GenericPLEG({ provider, cache: new PodStatusCache(), clock, logger: nopLogger, registry, ...(withEvents ? { events: rt } : {}) });
  const died = new Map<string, number>();
  pleg.watch((e) => {
    if (e.type === 'ContainerDied' && !died.has(e.data)) died.set(e.data, Date.now());
  });
  return { pleg, died, registry };
}

const evented = makePleg(true);
const relisting = makePleg(false);
// the raw event and when CRI first lists the container as exited, to show where the time goes
const exitEvents = new Map<string, number>();
const criExited = new Map<string, number>();
const mine = new Set<string>();
async function pollUntilExited(id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const c = (await rt.listContainers({ id }).catch(() => []))[0];
    if (!c || c.state === 'CONTAINER_EXITED') {
      criExited.set(id, Date.now());
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
const watch = rt.watchContainerEvents({
  onEvent: (e) => {
    if (e.type !== 'stopped' || !mine.has(e.containerId) || exitEvents.has(e.containerId)) return;
    exitEvents.set(e.containerId, Date.now());
    void pollUntilExited(e.containerId);
  },
});

interface Sample {
  eventMs: number;
  criMs: number;
  eventedMs: number;
  relistMs: number;
}
const samples: Sample[] = [];

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

try {
  evented.pleg.start();
  relisting.pleg.start();
  await until(() => evented.pleg.eventsConnected(), 5000);
  if (!evented.pleg.eventsConnected()) throw new Error('the event stream did not come up');
  for (let i = 0; i < runs; i++) {
    const uid = `${runId}-${i}`;
    const labels = { [podUidLabel]: uid, [podNameLabel]: `pe-${i}`, [podNamespaceLabel]: namespace, 'nodelet.dev/bench': runId };
    const cfg: PodSandboxConfig = {
      metadata: { name: `pe-${i}`, namespace, uid, attempt: 0 },
      hostname: '',
      logDirectory: join(dir, uid),
      labels,
      linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    mkdirSync(join(dir, uid, 'app'), { recursive: true });
    const sb = await rt.runPodSandbox(cfg);
    try {
      const sleep = (0.3 + Math.random()).toFixed(3);
      const id = await rt.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: { image: env.testImage }, command: ['sh', '-c', `sleep ${sleep}; exit 0`], labels: { ...labels, [containerNameLabel]: 'app' }, logPath: 'app/0.log' }, cfg);
      mine.add(id);
      await rt.startContainer(id);
      const ok = await until(() => evented.died.has(id) && relisting.died.has(id) && criExited.has(id), 10_000);
      if (!ok) {
        console.error(`run ${i}: not all of event/evented/relisting saw the exit`);
        continue;
      }
      const exitedAt = (await rt.containerStatus(id)).status.finishedAt / 1e6;
      samples.push({ eventMs: exitEvents.get(id)! - exitedAt, criMs: criExited.get(id)! - exitedAt, eventedMs: evented.died.get(id)! - exitedAt, relistMs: relisting.died.get(id)! - exitedAt });
    } finally {
      await rt.stopPodSandbox(sb).catch(() => undefined);
      await rt.removePodSandbox(sb).catch(() => undefined);
    }
  }

  const stats = (xs: number[]): string[] => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    return [String(s.length), ...[s[0]!, q(0.5), mean, q(0.9), s[s.length - 1]!].map((v) => `${v.toFixed(0)} ms`)];
  };
  const relists = async (r: Registry): Promise<string> => {
    const m = (await r.getSingleMetricAsString('kubelet_pleg_relist_duration_seconds')).match(/_count (\d+)/);
    return m?.[1] ?? '?';
  };
  const rows = [
    ['containerd /tasks/exit event received', ...stats(samples.map((s) => s.eventMs)), '-'],
    ['CRI ListContainers says exited (10 ms poll)', ...stats(samples.map((s) => s.criMs)), '-'],
    ['PLEG ContainerDied, relist on event', ...stats(samples.map((s) => s.eventedMs)), await relists(evented.registry)],
    ['PLEG ContainerDied, 1 s relist only', ...stats(samples.map((s) => s.relistMs)), await relists(relisting.registry)],
  ];
  process.stdout.write(`time from a container's exit (its finishedAt) to ...\n`);
  process.stdout.write(formatTable(['', 'n', 'min', 'p50', 'mean', 'p90', 'max', 'relists'], rows));
  if (args.json) writeFileSync(args.json, JSON.stringify({ samples }, null, 2) + '\n');
} finally {
  watch.stop();
  await evented.pleg.stop();
  await relisting.pleg.stop();
  for (const s of await rt.listPodSandbox({ labelSelector: { 'nodelet.dev/bench': runId } }).catch(() => [])) {
    await rt.stopPodSandbox(s.id).catch(() => undefined);
    await rt.removePodSandbox(s.id).catch(() => undefined);
  }
  rt.close();
  rmSync(dir, { recursive: true, force: true });
}
