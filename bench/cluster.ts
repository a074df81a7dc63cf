// bench/cluster: cluster-mode figures on real containerd: nodelet run as a process with
// --kubeconfig against the test API server (test/apiserver, TLS, in this process).
//
//   node --import tsx bench/cluster.ts [--sizes 10,30] [--status-samples 10] [--idle-pods 60]
//     [--idle-window 60] [--status-restart-policy Never|Always] [--json out.json]
//     [--nodelet-log copy.log] [--nodelet-args="--v 4"]
//
// 1. Startup: for each N, N pods (spec.nodeName = the node) created at once with the admin
//    client -> time until each is phase Running with every container ready, as seen by a watch
//    (pods, fieldSelector spec.nodeName); p50/p99/max, against the same N pods started through the
//    raw CRI client (as bench/pod-startup.ts does). CRI is polled alongside (container RUNNING,
//    and the per-pod lag from there to the API). Then the pods are deleted (grace 1 s) -> time
//    until each pod's containers and sandbox are stopped (CRI) and it is gone from the API (the
//    node's final delete); the raw pods' teardown (stop + remove, all at once) is the floor.
// 2. Status latency: running pods (restartPolicy Never) whose container is killed one at a time
//    through the raw CRI client (StopContainer, timeout 0) -> time from the container's exit (CRI
//    finishedAt) to the watch showing it terminated.
// 3. API requests made by the node's identity: per pod started (from the creates to the last pod
//    Running, divided by N) and per minute with `idle-pods` running pods over `idle-window` s;
//    by verb and resource.
//
// The node has a unique name; cleanup (also on failure and SIGINT) touches only sandboxes and
// containers carrying that name in nodelet's node-name label (the raw pods carry "<name>-raw").

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { formatTable } from '../src/cli/table.js';
import { nodeNameLabel, podNameLabel } from '../src/kubelet/kuberuntime/labels.js';
import { CriClient } from '../src/runtime/cri/index.js';
import { startTestApiServer, type RequestRecord, type TestApiServer } from '../test/apiserver/index.js';
import { freePort, NodeletProcess } from '../test/e2e/nodelet-process.js';
import { testRuntimeEnv } from '../test/runtime-env.js';
import { rawStart } from './rawcri.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,30' },
    'status-samples': { type: 'string', default: '10' },
    'idle-pods': { type: 'string', default: '60' },
    'idle-window': { type: 'string', default: '60' },
    'status-restart-policy': { type: 'string', default: 'Never' },
    'nodelet-log': { type: 'string' },
    'nodelet-args': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});
const sizes = args.sizes.split(',').filter(Boolean).map(Number);
const statusSamples = Number(args['status-samples']);
const idlePods = Number(args['idle-pods']);
const idleWindowS = Number(args['idle-window']);
const statusRestartPolicy = args['status-restart-policy'] === 'Always' ? 'Always' : 'Never';
const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'bench';
const NODE = `bench-cluster-${process.pid}`;
const RAW = `${NODE}-raw`;
const nodeUser = `system:node:${NODE}`;
const benchStart = performance.now();
const progress = (m: string): void => void process.stderr.write(`[cluster ${((performance.now() - benchStart) / 1000).toFixed(0).padStart(3)} s] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function q(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
}
const sec = (ms: number): string => (ms / 1000).toFixed(2);

/** "verb resource[/subresource]" of a recorded request, e.g. "patch pods/status", "watch pods". */
function requestKind(r: RequestRecord): string {
  const segs = (r.path.split('?')[0] ?? '').split('/').filter(Boolean);
  let rest: string[];
  if (segs[0] === 'api') rest = segs.slice(2);
  else if (segs[0] === 'apis') rest = segs.slice(3);
  else return `${r.verb || r.method.toLowerCase()} ${r.path.split('?')[0]}`;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const resource = rest[0] ?? '';
  const sub = rest[2];
  return `${r.verb || r.method.toLowerCase()} ${resource}${sub ? `/${sub}` : ''}`;
}

function countKinds(reqs: RequestRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of reqs) m.set(requestKind(r), (m.get(requestKind(r)) ?? 0) + 1);
  return m;
}

function runningReady(p: V1Pod | undefined): boolean {
  const cs = p?.status?.containerStatuses ?? [];
  return p?.status?.phase === 'Running' && cs.length > 0 && cs.every((c) => c.ready);
}

function waitingReason(p: V1Pod | undefined): string {
  for (const c of p?.status?.containerStatuses ?? []) if (c.state?.waiting?.reason) return c.state.waiting.reason;
  return '';
}

function waitingMessage(p: V1Pod | undefined): string {
  for (const c of p?.status?.containerStatuses ?? []) if (c.state?.waiting?.reason) return `${c.state.waiting.reason}: ${c.state.waiting.message ?? ''}`;
  return '';
}

// ------------------------------------------------------------------ the watch

interface Waiter {
  names: Set<string>;
  seen: Map<string, { perf: number; wall: number }>;
  pred: (p: V1Pod | undefined) => boolean;
  done: () => void;
}

/** Pods of the node as a watch shows them; waiters record when each pod first satisfies a predicate. */
class PodTracker {
  readonly pods = new Map<string, V1Pod>();
  private readonly waiters = new Set<Waiter>();
  private rv = '';
  private abort?: AbortController;
  private stopped = false;
  readonly ready: Promise<void>;

  constructor(private readonly w: Watch) {
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    let first = true;
    await new Promise<void>((resolve, reject) => {
      const connect = (): void => {
        this.w
          .watch(
            '/api/v1/pods',
            { fieldSelector: `spec.nodeName=${NODE}`, timeoutSeconds: 3600, ...(this.rv ? { resourceVersion: this.rv } : {}) },
            (type: string, obj: V1Pod) => this.onEvent(type, obj),
            (err: unknown) => {
              if (this.stopped) return;
              if (err) progress(`watch ended: ${String(err)}; reconnecting`);
              setTimeout(connect, 200);
            },
          )
          .then((a) => {
            this.abort = a;
            if (first) {
              first = false;
              resolve();
            }
          }, reject);
      };
      connect();
    });
  }

  private onEvent(type: string, obj: V1Pod): void {
    const perf = performance.now();
    const wall = Date.now();
    if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
    if (type === 'BOOKMARK' || type === 'ERROR') return;
    const name = obj.metadata?.name ?? '';
    if (type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, obj);
    const cur = type === 'DELETED' ? undefined : obj;
    for (const w of this.waiters) {
      if (w.names.has(name) && !w.seen.has(name) && w.pred(cur)) {
        w.seen.set(name, { perf, wall });
        if (w.seen.size === w.names.size) w.done();
      }
    }
  }

  /** Registers a waiter now (before the action); `wait` resolves when every name satisfied pred. */
  expect(names: string[], pred: (p: V1Pod | undefined) => boolean, what: string): { wait(timeoutMs: number): Promise<Map<string, { perf: number; wall: number }>> } {
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const w: Waiter = { names: new Set(names), seen: new Map(), pred, done };
    this.waiters.add(w);
    return {
      wait: async (timeoutMs) => {
        const end = performance.now() + timeoutMs;
        let last = performance.now();
        try {
          while (w.seen.size < w.names.size) {
            const left = end - performance.now();
            if (left <= 0) {
              const missing = [...w.names].filter((n) => !w.seen.has(n));
              const why = missing.slice(0, 3).map((n) => `${n}: ${this.describe(n)}`).join('; ');
              throw new Error(`timed out waiting for ${what}: ${w.seen.size}/${w.names.size} (${why})`);
            }
            await Promise.race([finished, sleep(Math.min(left, 1000))]);
            if (names.length > 1 && performance.now() - last > 5000 && w.seen.size < w.names.size) {
              last = performance.now();
              progress(`  ${what}: ${w.seen.size}/${w.names.size}`);
            }
          }
          return w.seen;
        } finally {
          this.waiters.delete(w);
        }
      },
    };
  }

  describe(name: string): string {
    const p = this.pods.get(name);
    if (!p) return 'not in the API';
    const cs = (p.status?.containerStatuses ?? []).map((c) => JSON.stringify(c.state)).join(',');
    return `phase ${p.status?.phase ?? '-'} ${cs}`;
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

// ------------------------------------------------------------------ setup and cleanup

const dir = mkdtempSync(join(tmpdir(), 'nodelet-bench-cluster-'));
const rt = await CriClient.connect({ endpoint: env.endpoint });
await rt.pullImage(image);
const s: TestApiServer = await startTestApiServer({ tls: true, namespaces: [ns] });
const api = s.kubeconfig().makeApiClient(CoreV1Api);
const n = new NodeletProcess({ endpoint: env.endpoint, baseDir: dir, nodeName: NODE });
const kubeconfigPath = s.writeKubeconfig(join(n.dir, 'node.kubeconfig'), { node: NODE });
n.extraArgs.push('--kubeconfig', kubeconfigPath, '--port', String(await freePort()), ...args['nodelet-args'].split(' ').filter(Boolean));
const tracker = new PodTracker(new Watch(s.kubeconfig()));
await tracker.ready;

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    progress('cleaning up');
    tracker.stop();
    for (const p of s.list('pods', ns)) {
      await api.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: ns, body: { gracePeriodSeconds: 0 } }).catch(() => undefined);
    }
    await n.stop().catch(() => undefined);
    if (args['nodelet-log']) copyFileSync(n.logFile, args['nodelet-log']);
    for (const owner of [NODE, RAW]) {
      for (const c of await rt.listContainers({ labelSelector: { [nodeNameLabel]: owner } }).catch(() => [])) {
        await rt.stopContainer(c.id, 0).catch(() => undefined);
        await rt.removeContainer(c.id).catch(() => undefined);
      }
      for (const sb of await rt.listPodSandbox({ labelSelector: { [nodeNameLabel]: owner } }).catch(() => [])) {
        await rt.stopPodSandbox(sb.id).catch(() => undefined);
        await rt.removePodSandbox(sb.id).catch(() => undefined);
      }
    }
    rt.close();
    await s.close().catch(() => undefined);
    n.cleanup();
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    progress(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

// ------------------------------------------------------------------ pods

let automount = true;

function podBody(name: string, restartPolicy: 'Always' | 'Never' = 'Always'): V1Pod {
  return {
    metadata: { name, namespace: ns },
    spec: {
      nodeName: NODE,
      ...(automount ? {} : { automountServiceAccountToken: false }),
      restartPolicy,
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }],
    },
  };
}

async function createPods(names: string[], restartPolicy: 'Always' | 'Never' = 'Always'): Promise<void> {
  await Promise.all(names.map((name) => api.createNamespacedPod({ namespace: ns, body: podBody(name, restartPolicy) })));
}

/** Deletes pods with the given grace and waits until the API no longer has them; ms per pod from t0. */
async function deletePods(names: string[], grace: number, timeoutMs = 180_000): Promise<{ gone: number[]; stopped: number[]; sandboxes: number[] }> {
  const gone = tracker.expect(names, (p) => p === undefined, 'pods gone from the API');
  const t0 = performance.now();
  const cri = criWatch(names, false, t0);
  await Promise.all(names.map((name) => api.deleteNamespacedPod({ name, namespace: ns, body: { gracePeriodSeconds: grace } })));
  const seen = await gone.wait(timeoutMs);
  const { containers, sandboxes } = await cri.stop();
  return { gone: [...seen.values()].map((v) => v.perf - t0), stopped: [...containers.values()], sandboxes: [...sandboxes.values()] };
}


/**
 * Polls CRI every 50 ms in the background: when each pod first has (running=true) or no longer
 * has (running=false) a running container of this node; ms since t0. stop() ends the loop.
 */
function criWatch(names: string[], running: boolean, t0: number): { stop(): Promise<{ containers: Map<string, number>; sandboxes: Map<string, number> }> } {
  const seen = new Map<string, number>();
  // with running=false: when each pod's sandbox is no longer READY
  const sbSeen = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped && (seen.size < names.length || (!running && sbSeen.size < names.length))) {
      const sel = { labelSelector: { [nodeNameLabel]: NODE } };
      const [cs, sbs] = await Promise.all([
        rt.listContainers({ state: 'CONTAINER_RUNNING', ...sel }).catch(() => undefined),
        running ? Promise.resolve([]) : rt.listPodSandbox({ state: 'SANDBOX_READY', ...sel }).catch(() => undefined),
      ]);
      const now = performance.now() - t0;
      if (cs) {
        const up = new Set(cs.map((c) => c.labels[podNameLabel] ?? ''));
        for (const x of names) if (!seen.has(x) && up.has(x) === running) seen.set(x, now);
      }
      if (sbs && !running) {
        const ready = new Set(sbs.map((sb) => sb.labels[podNameLabel] ?? ''));
        for (const x of names) if (!sbSeen.has(x) && !ready.has(x)) sbSeen.set(x, now);
      }
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { containers: seen, sandboxes: sbSeen };
    },
  };
}

const nodeRequests = (from: number, to = s.requests.length): RequestRecord[] => s.requests.slice(from, to).filter((r) => r.user === nodeUser);

// ------------------------------------------------------------------ the run

const results: Record<string, unknown> = { node: NODE };
const startupRows: string[][] = [];
const perPodKinds = new Map<number, Map<string, number>>();
const statusRows: string[][] = [];
let idleKinds: Map<string, number> | undefined;
let idleInfo = '';
let idleDeleteInfo = '';

try {
  await n.start();
  progress(`nodelet pid ${n.pid}, node ${NODE}, log ${n.logFile}`);
  const tNode = performance.now();
  for (;;) {
    const node = s.get('nodes', '', NODE) as { status?: { conditions?: { type: string; status: string }[] } } | undefined;
    if (node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
    if (!n.running) throw new Error(`nodelet exited: ${n.log().slice(-2000)}`);
    if (performance.now() - tNode > 60_000) throw new Error('the Node did not turn Ready within 60 s');
    await sleep(100);
  }
  progress(`node Ready after ${sec(performance.now() - tNode)} s`);

  // The projected kube-api-access volume: use it if pods start with it, else opt out.
  {
    const name = 'sa-check';
    const w = tracker.expect([name], (p) => runningReady(p) || waitingReason(p) === 'CreateContainerConfigError', 'the service-account check pod');
    await createPods([name]);
    await w.wait(90_000);
    const reason = waitingMessage(tracker.pods.get(name));
    automount = runningReady(tracker.pods.get(name));
    progress(automount ? 'pods with the projected kube-api-access volume start: keeping it' : `pod with kube-api-access: ${reason}; using automountServiceAccountToken: false`);
    await deletePods([name], 0);
    results['serviceAccountToken'] = automount ? 'projected kube-api-access volume' : `automountServiceAccountToken: false (with it: ${reason})`;
  }

  // 1 + 3a. startup through the API, requests per pod, deletion, the raw floor.
  for (const size of sizes) {
    const names = Array.from({ length: size }, (_, i) => `s${size}-${i}`);
    progress(`N=${size}: creating ${size} pods`);
    const running = tracker.expect(names, runningReady, `N=${size} Running and ready`);
    const req0 = s.requests.length;
    const cpu0 = n.cpuTicks();
    const t0 = performance.now();
    const cri = criWatch(names, true, t0);
    await createPods(names);
    const seen = await running.wait(300_000);
    const req1 = s.requests.length;
    const criUpBy = (await cri.stop()).containers;
    const criUp = [...criUpBy.values()];
    // per pod: container RUNNING in CRI -> Running and ready in the API
    const lag = names.flatMap((x) => (criUpBy.has(x) && seen.has(x) ? [seen.get(x)!.perf - t0 - criUpBy.get(x)!] : []));
    const startCpu = (n.cpuTicks() - cpu0) / 100;
    const st = [...seen.values()].map((v) => v.perf - t0);
    progress(`N=${size}: all Running after ${sec(Math.max(...st))} s; nodelet used ${startCpu.toFixed(2)} CPU-seconds`);
    const kinds = countKinds(nodeRequests(req0, req1));
    perPodKinds.set(size, kinds);
    await sleep(2000);

    progress(`N=${size}: deleting (grace 1 s)`);
    const { gone: del, stopped, sandboxes } = await deletePods(names, 1);
    progress(`N=${size}: containers stopped after ${sec(Math.max(...stopped))} s, sandboxes after ${sec(Math.max(...sandboxes))} s, all gone from the API after ${sec(Math.max(...del))} s; raw CRI run`);

    const raw = await rawStart(rt, { count: size, image, logDir: join(dir, 'raw-logs'), labels: { [nodeNameLabel]: RAW } });
    const r0 = performance.now();
    await Promise.all(raw.ids.map(async (id) => {
      await rt.stopPodSandbox(id);
      await rt.removePodSandbox(id);
    }));
    const rawTeardown = performance.now() - r0;
    const ratioP50 = q(st, 0.5) / q(raw.perPod, 0.5);
    const ratioAll = Math.max(...st) / raw.all;
    startupRows.push([
      String(size),
      `${sec(q(st, 0.5))} / ${sec(q(st, 0.99))} / ${sec(Math.max(...st))} s`,
      `${sec(q(criUp, 0.5))} / ${sec(Math.max(...criUp))} s`,
      `${sec(q(lag, 0.5))} / ${sec(Math.max(...lag))} s`,
      `${sec(q(raw.perPod, 0.5))} / ${sec(q(raw.perPod, 0.99))} / ${sec(raw.all)} s`,
      `${ratioP50.toFixed(2)} / ${ratioAll.toFixed(2)}`,
      `${sec(q(stopped, 0.5))} / ${sec(Math.max(...stopped))} s`,
      `${sec(q(sandboxes, 0.5))} / ${sec(Math.max(...sandboxes))} s`,
      `${sec(q(del, 0.5))} / ${sec(Math.max(...del))} s`,
      `${sec(rawTeardown)} s`,
      `${startCpu.toFixed(2)} s`,
    ]);
    const total = [...kinds.values()].reduce((a, b) => a + b, 0);
    results[`n${size}`] = {
      startP50: q(st, 0.5), startP99: q(st, 0.99), startMax: Math.max(...st), criRunningP50: q(criUp, 0.5), criRunningMax: Math.max(...criUp), criToApiLagP50: q(lag, 0.5), criToApiLagMax: Math.max(...lag), rawTeardownAll: rawTeardown,
      deleteStoppedP50: q(stopped, 0.5), deleteStoppedMax: Math.max(...stopped), deleteSandboxStoppedP50: q(sandboxes, 0.5), deleteSandboxStoppedMax: Math.max(...sandboxes),
      rawP50: q(raw.perPod, 0.5), rawP99: q(raw.perPod, 0.99), rawAll: raw.all, ratioP50, ratioAll,
      deleteGoneP50: q(del, 0.5), deleteGoneMax: Math.max(...del), startCpuSeconds: startCpu,
      nodeRequests: total, nodeRequestsPerPod: total / size, nodeRequestsByKind: Object.fromEntries(kinds),
    };
    await sleep(1000);
  }

  // 2. status latency: container killed through CRI -> terminated in the API (watch).
  if (statusSamples > 0) {
    const names = Array.from({ length: statusSamples }, (_, i) => `st-${i}`);
    progress(`status latency: starting ${statusSamples} pods (restartPolicy ${statusRestartPolicy})`);
    const running = tracker.expect(names, runningReady, 'status pods Running');
    await createPods(names, statusRestartPolicy);
    await running.wait(300_000);
    await sleep(2000);
    const fromExit: number[] = [];
    const fromStop: number[] = [];
    for (const name of names) {
      const [c] = await rt.listContainers({ state: 'CONTAINER_RUNNING', labelSelector: { [nodeNameLabel]: NODE, [podNameLabel]: name } });
      if (!c) throw new Error(`no running container for pod ${name}`);
      const w = tracker.expect([name], (p) => {
        const cs = p?.status?.containerStatuses?.[0];
        return !!cs && (!!cs.state?.terminated || (cs.restartCount ?? 0) > 0);
      }, `${name} terminated in the API`);
      const stopWall = Date.now();
      await rt.stopContainer(c.id, 0);
      const finishedMs = (await rt.containerStatus(c.id)).status.finishedAt / 1e6;
      const seen = (await w.wait(30_000)).get(name)!;
      fromExit.push(seen.wall - finishedMs);
      fromStop.push(seen.wall - stopWall);
      progress(`  ${name}: exit -> API ${(seen.wall - finishedMs).toFixed(0)} ms`);
      await sleep(500 + Math.random() * 1000); // exits land anywhere in the PLEG's 1 s relist period
    }
    statusRows.push([
      String(fromExit.length),
      `${q(fromExit, 0.5).toFixed(0)} / ${q(fromExit, 0.99).toFixed(0)} / ${Math.max(...fromExit).toFixed(0)} ms`,
      `${q(fromStop, 0.5).toFixed(0)} / ${q(fromStop, 0.99).toFixed(0)} / ${Math.max(...fromStop).toFixed(0)} ms`,
    ]);
    results['statusLatency'] = { samples: fromExit, p50: q(fromExit, 0.5), p99: q(fromExit, 0.99), max: Math.max(...fromExit), fromStopCall: fromStop };
    await deletePods(names, 0);
    await sleep(1000);
  }

  // 3b. requests per minute at idle with idlePods running pods.
  if (idlePods > 0 && idleWindowS > 0) {
    const names = Array.from({ length: idlePods }, (_, i) => `idle-${i}`);
    progress(`idle: starting ${idlePods} pods`);
    const running = tracker.expect(names, runningReady, 'idle pods Running');
    const t0 = performance.now();
    await createPods(names);
    await running.wait(300_000);
    progress(`idle: all Running after ${sec(performance.now() - t0)} s; settling 5 s, then a ${idleWindowS} s window`);
    await sleep(5000);
    const req0 = s.requests.length;
    const cpu0 = n.cpuTicks();
    const w0 = performance.now();
    while (performance.now() - w0 < idleWindowS * 1000) {
      await sleep(Math.min(10_000, idleWindowS * 1000 - (performance.now() - w0)));
      progress(`  idle window: ${sec(performance.now() - w0)} s, ${nodeRequests(req0).length} node requests`);
    }
    const minutes = (performance.now() - w0) / 60_000;
    const cpu = (n.cpuTicks() - cpu0) / 100 / (minutes * 60);
    const reqs = nodeRequests(req0);
    idleKinds = new Map([...countKinds(reqs)].map(([k, v]) => [k, v / minutes]));
    const notRunning = names.filter((x) => !runningReady(tracker.pods.get(x)));
    idleInfo = `${idlePods} pods over ${(minutes * 60).toFixed(0)} s: ${(reqs.length / minutes).toFixed(1)} node requests/min; nodelet CPU ${cpu.toFixed(3)} cores, RSS ${n.rssMiB().toFixed(0)} MiB${notRunning.length ? `; ${notRunning.length} pods not Running+ready at the end` : ''}`;
    results['idle'] = { pods: idlePods, windowSeconds: minutes * 60, requestsPerMinute: reqs.length / minutes, byKind: Object.fromEntries(idleKinds), cpuCores: cpu, rssMiB: n.rssMiB(), notRunning: notRunning.length };
    progress(`idle: deleting ${idlePods} pods (grace 1 s)`);
    const { gone: del, stopped, sandboxes } = await deletePods(names, 1);
    progress(`idle: containers stopped after ${sec(Math.max(...stopped))} s, sandboxes after ${sec(Math.max(...sandboxes))} s, all gone from the API after ${sec(Math.max(...del))} s`);
    idleDeleteInfo = `${idlePods} pods deleted at once (grace 1 s), p50 / max: containers stopped (CRI) ${sec(q(stopped, 0.5))} / ${sec(Math.max(...stopped))} s, sandboxes stopped ${sec(q(sandboxes, 0.5))} / ${sec(Math.max(...sandboxes))} s, gone from the API ${sec(q(del, 0.5))} / ${sec(Math.max(...del))} s`;
    results['idleDelete'] = { stoppedP50: q(stopped, 0.5), stoppedMax: Math.max(...stopped), sandboxesP50: q(sandboxes, 0.5), sandboxesMax: Math.max(...sandboxes), goneP50: q(del, 0.5), goneMax: Math.max(...del) };
  }
} finally {
  await cleanup();
}

// ------------------------------------------------------------------ report

process.stdout.write(`\nnode ${NODE}; pods with ${String(results['serviceAccountToken'])}\n`);
if (startupRows.length) {
  process.stdout.write('\nPod startup through the API: create -> Running and ready as seen by a watch, p50 / p99 / max\n\n');
  process.stdout.write(formatTable(['N', 'nodelet via API', 'CRI RUNNING p50 / max', 'CRI -> API lag p50 / max', 'raw CRI (same concurrency)', 'ratio p50 / all', 'delete (grace 1) -> containers stopped', 'sandboxes stopped', 'gone from API p50 / max', 'raw teardown all', 'nodelet CPU while starting'], startupRows));
}
if (statusRows.length) {
  process.stdout.write(`\nStatus latency: container killed through CRI (StopContainer, timeout 0; restartPolicy ${statusRestartPolicy}) -> terminated or restartCount+1 in the API (watch)\n\n`);
  process.stdout.write(formatTable(['samples', 'CRI finishedAt -> watch p50 / p99 / max', 'StopContainer call -> watch p50 / p99 / max'], statusRows));
}
if (perPodKinds.size) {
  const kinds = [...new Set([...perPodKinds.values()].flatMap((m) => [...m.keys()]))].sort();
  const rows = kinds.map((k) => [k, ...sizes.map((sz) => ((perPodKinds.get(sz)?.get(k) ?? 0) / sz).toFixed(2))]);
  rows.push(['all', ...sizes.map((sz) => ([...(perPodKinds.get(sz)?.values() ?? [])].reduce((a, b) => a + b, 0) / sz).toFixed(2))]);
  process.stdout.write(`\nAPI requests by ${nodeUser} per pod started (creates -> last pod Running)\n\n`);
  process.stdout.write(formatTable(['request', ...sizes.map((sz) => `N=${sz}`)], rows));
}
if (idleKinds) {
  const rows = [...idleKinds].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v.toFixed(1)]);
  process.stdout.write(`\nAPI requests by the node per minute at idle: ${idleInfo}\n\n`);
  process.stdout.write(formatTable(['request', 'per minute'], rows));
  if (idleDeleteInfo) process.stdout.write(`\n${idleDeleteInfo}\n`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
