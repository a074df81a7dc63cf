// bench/nodelifecycle: what the node lifecycle controller's passes cost at 1000 and 5000 nodes, and
// the NoExecute tainting rate it achieves against the configured one (issue 7, "Measured").
//
//   node --expose-gc --import tsx bench/nodelifecycle.ts [--sizes 1000,5000] [--zones 3]
//     [--pods-per-node 10] [--repeats 5] [--in-process] [--json out.json]
//
// No API server: MemoryInformers for Nodes, Leases and Pods (objects shaped as a real cluster's:
// node images, capacity, nodeInfo; pods with owner, tolerations, container statuses) and
// memoryNodeLifecycleClient writing back into them, as a watch would deliver the writes. Time is a
// FakeClock the bench moves, so the wall time of an awaited pass is the controller's own CPU time.
//
// 1. monitorNodeHealth over N nodes (each with a Lease, spread over --zones zones): the first pass
//    after start() (all nodes new; fresh controllers), the steady pass (every Lease renewed since
//    the last pass), the pass where 10 % go Unknown (status writes, pods marked NotReady), the next
//    one (those nodes queued for NoExecute tainting) and the one where they come back (taints
//    removed). For parts 1-2 the controller's two interval loops are the bench's to run (its clock
//    hands out FakeClock time but ignores setInterval) and informer events reach it only where a
//    row says so, so each row times one pass alone. Reference rows: the same decisions made by
//    the pure functions alone, and markPodsNotReady's pod lookup (a full pods.list() scan per
//    node) against a by-node index.
// 2. Tainting: doNoExecuteTaintingPass with 10 % of N queued, at the configured rate and at a rate
//    that admits one node per zone per pass; the NoSchedule pass over all N nodes
//    (doNoScheduleTaintingPass per node) after MemoryPressure appears on 10 %, again with nothing
//    to change, and the same taints removed through the informer events (the node update worker).
// 3. Eviction rate: the real loops (start(), FakeClock in 100 ms steps, kubelets renewing every
//    10 s): a zone of which nodes stop renewing at once; NoExecute taints (their timeAdded) counted
//    over the 60 s after the nodes went Unknown, against the token bucket's expectation.
//
// Memory: process.memoryUsage() (RSS, heapUsed) before building each cluster, after, after the
// first pass and at the end; with --expose-gc a full GC runs before each reading. Parts 1-2 run in
// a child process per N (same node flags), so each N starts from a clean heap (--in-process: all in
// this one). The child runs compiled: this file bundled by esbuild (node_modules/.cache/nodelet-bench/,
// the packages left external) and started with plain node, since tsx's loader thread would add
// ~95 MiB of RSS that the compiled `nodelet controller` does not have.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { V1MicroTime, type KubernetesObject, type V1Lease, type V1Node, type V1NodeCondition, type V1Pod } from '@kubernetes/client-node';
import { formatTable } from '../src/cli/table.js';
import { kubeletConditions, makeLease, makeNode, makePod } from './clusterobjects.js';
import type { ControllerEventRecorder } from '../src/controller/events.js';
import { MemoryInformer, nodeCacheTransform, podCacheTransform, type Informer, type InformerEvent } from '../src/controller/informers.js';
import {
  defaultNodeLifecycleSettings,
  handleDisruption,
  isNodeExcludedFromDisruptionChecks,
  memoryNodeLifecycleClient,
  NamespaceNodeLease,
  noExecuteAction,
  nodeNotReadyDecision,
  NodeLifecycleController,
  tryUpdateNodeHealth,
  zoneKey,
  type NodeHealthData,
  type NodeLifecycleSettings,
  type ZoneState,
} from '../src/controller/nodelifecycle/index.js';
import { FakeClock, flushMicrotasks, type Clock, type Timer } from '../src/util/clock.js';
import { newRegistry } from '../src/util/metrics.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    zones: { type: 'string', default: '3' },
    'pods-per-node': { type: 'string', default: '10' },
    repeats: { type: 'string', default: '5' },
    'in-process': { type: 'boolean', default: false },
    /** Internal: run parts 1-2 for --sizes and write the rows to --json. */
    child: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const sizes = args.sizes.split(',').filter(Boolean).map(Number);
const zoneCount = Math.max(1, Number(args.zones));
const podsPerNode = Math.max(0, Number(args['pods-per-node']));
const repeats = Math.max(1, Number(args.repeats));
const T0 = Date.UTC(2026, 10, 24, 8, 0, 0);
const MiB = 1024 * 1024;
const progress = (m: string): void => void process.stderr.write(`[nodelifecycle] ${m}\n`);
const gcFn = (globalThis as { gc?: () => void }).gc;
const benchStart = performance.now();

// ---------------------------------------------------------------- helpers

function gcNow(): void {
  gcFn?.();
  gcFn?.();
}

interface Mem {
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
}
function mem(): Mem {
  gcNow();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / MiB, heapTotalMiB: m.heapTotal / MiB, heapUsedMiB: m.heapUsed / MiB };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const fmtMs = (ms: number): string => (Number.isNaN(ms) ? '-' : ms < 0.1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`);

/** An informer whose events reach the controller only while `open` (the bench runs the loops). */
class GatedInformer<T extends KubernetesObject> implements Informer<T> {
  open = false;
  private cbs: Record<InformerEvent, ((obj: T, old?: T) => void)[]> = { add: [], update: [], delete: [] };

  constructor(private readonly inner: Informer<T>) {
    for (const ev of ['add', 'update', 'delete'] as const) {
      inner.on(ev, (o, old) => {
        if (this.open) for (const cb of this.cbs[ev]) cb(o, old);
      });
    }
  }
  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace);
  }
  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }
  on(event: InformerEvent, cb: (obj: T, old?: T) => void): void {
    this.cbs[event].push(cb);
  }
  hasSynced(): boolean {
    return this.inner.hasSynced();
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  /** Forgets the controller's handlers (so a stopped controller can be collected). */
  detach(): void {
    this.open = false;
    this.cbs = { add: [], update: [], delete: [] };
  }
}

/** The controller's clock in parts 1-2: FakeClock time, but its interval loops are the bench's to run. */
class BenchDrivenClock implements Clock {
  constructor(private readonly fake: FakeClock) {}
  now(): number {
    return this.fake.now();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    return this.fake.setTimeout(fn, ms);
  }
  setInterval(): Timer {
    return { stop: () => true };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.fake.sleep(ms, signal);
  }
}

class CountingRecorder implements ControllerEventRecorder {
  count = 0;
  event(): void {
    this.count++;
  }
}

// ---------------------------------------------------------------- simulated objects

const zoneName = (i: number): string => `zone-${i % zoneCount}`;
const zoneKeyOf = (zone: string): string => `r1:\0:${zone}`;

// ---------------------------------------------------------------- parts 1-2: the simulated cluster

interface Ctl {
  controller: NodeLifecycleController;
  nodesGate: GatedInformer<V1Node>;
  podsGate: GatedInformer<V1Pod>;
  recorder: CountingRecorder;
}

class SimCluster {
  readonly fake = new FakeClock(T0);
  readonly clock = new BenchDrivenClock(this.fake);
  readonly names: string[] = [];
  readonly nodes: MemoryInformer<V1Node>;
  readonly leases: MemoryInformer<V1Lease>;
  readonly pods: MemoryInformer<V1Pod>;
  /** Kubelets that renew their Lease when the bench says. */
  readonly alive = new Set<string>();
  readonly writes = { nodes: 0, pods: 0 };
  readonly client: ReturnType<typeof memoryNodeLifecycleClient>;

  constructor(n: number) {
    const nodes: V1Node[] = [];
    const leases: V1Lease[] = [];
    const pods: V1Pod[] = [];
    for (let i = 0; i < n; i++) {
      const name = `node-${String(i).padStart(5, '0')}`;
      const node = makeNode(name, i, zoneName(i), T0);
      nodes.push(node);
      leases.push(makeLease(name, node.metadata!.uid!, T0));
      // each pod transformed as it arrives, as a paginated list (500 a page) hands them to the cache
      for (let j = 0; j < podsPerNode; j++) pods.push(podCacheTransform(makePod(name, node.status!.addresses![0]!.address, j, T0)));
      this.names.push(name);
      this.alive.add(name);
    }
    this.nodes = new MemoryInformer(nodes, nodeCacheTransform); // what ControllerManager caches of a node
    this.leases = new MemoryInformer(leases);
    this.pods = new MemoryInformer(pods, podCacheTransform); // what ControllerManager caches of a pod
    this.client = memoryNodeLifecycleClient({
      getNode: (name) => this.nodes.get(name),
      putNode: (node) => {
        this.writes.nodes++;
        this.nodes.upsert(node);
      },
      putPod: (pod) => {
        this.writes.pods++;
        this.pods.upsert(pod);
      },
    });
  }

  async startInformers(): Promise<void> {
    await Promise.all([this.nodes.start(), this.leases.start(), this.pods.start()]);
  }

  newController(): Ctl {
    const nodesGate = new GatedInformer(this.nodes);
    const podsGate = new GatedInformer(this.pods);
    const recorder = new CountingRecorder();
    const controller = new NodeLifecycleController({ nodes: nodesGate, leases: this.leases, pods: podsGate, client: this.client, clock: this.clock, recorder, registry: newRegistry() });
    return { controller, nodesGate, podsGate, recorder };
  }

  /** The live kubelets renew their Leases (a new object each, as a watch delivers it). */
  renewAlive(): void {
    const now = this.fake.now();
    for (const name of this.alive) {
      const l = this.leases.get(name, NamespaceNodeLease)!;
      this.leases.upsert({ ...l, metadata: { ...l.metadata, resourceVersion: String(Number(l.metadata?.resourceVersion ?? 0) + 1) }, spec: { ...l.spec, renewTime: new V1MicroTime(now) } });
    }
  }

  /** A kubelet posts a full fresh status (back from the dead, or a pressure change). */
  postStatus(name: string, memoryPressure = false): void {
    const n = this.nodes.get(name)!;
    this.nodes.upsert({ ...n, metadata: { ...n.metadata, resourceVersion: String(Number(n.metadata?.resourceVersion ?? 0) + 1) }, status: { ...n.status, conditions: kubeletConditions(new Date(this.fake.now()), memoryPressure) } });
  }

  zoneKeys(): string[] {
    return Array.from({ length: Math.min(zoneCount, this.names.length) }, (_, i) => zoneKeyOf(`zone-${i}`));
  }

  queued(ctl: Ctl): number {
    return this.zoneKeys().reduce((s, z) => s + (ctl.controller.queueOf(z)?.length ?? 0), 0);
  }

  noExecuteTainted(): number {
    let k = 0;
    for (const n of this.nodes.list()) if ((n.spec?.taints ?? []).some((t) => t.effect === 'NoExecute')) k++;
    return k;
  }
}

interface Timed {
  ms: number;
  /** Until every promise the pass left behind has settled (the node update worker, for start()). */
  idleMs: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  await flushMicrotasks();
  return { ms, idleMs: performance.now() - t0 };
}

interface PassRow {
  n: number;
  pass: string;
  writes: string;
  samples: number[];
  idle?: number[];
}
interface MemRow extends Mem {
  n: number;
  phase: string;
}
const monitorRows: PassRow[] = [];
const taintRows: PassRow[] = [];
const memRows: MemRow[] = [];
const objectSizes: Record<string, number> = {};

function writesSince(c: SimCluster, before: { nodes: number; pods: number }, events?: number): string {
  const parts = [`${c.writes.nodes - before.nodes} node`, `${c.writes.pods - before.pods} pod`];
  if (events !== undefined) parts.push(`${events} events`);
  return parts.join(', ');
}

async function benchSize(n: number): Promise<void> {
  const memBase = mem();
  memRows.push({ n, phase: 'before building the cluster', ...memBase });
  progress(`N=${n}: building ${n} nodes, ${n} leases, ${n * podsPerNode} pods in ${zoneCount} zones`);
  const c = new SimCluster(n);
  await c.startInformers();
  if (!objectSizes['node']) {
    // as the API serves them, and as the caches keep them (nodeCacheTransform, podCacheTransform)
    objectSizes['node'] = JSON.stringify(makeNode('node-0', 0, 'zone-0', T0)).length;
    objectSizes['nodeCached'] = JSON.stringify(c.nodes.list()[0]).length;
    objectSizes['lease'] = JSON.stringify(c.leases.list()[0]).length;
    objectSizes['pod'] = JSON.stringify(makePod('node-0', '10.0.0.1', 0, T0)).length;
    objectSizes['podCached'] = JSON.stringify(podCacheTransform(makePod('node-0', '10.0.0.1', 0, T0))).length;
  }
  memRows.push({ n, phase: `cluster built (${n} nodes + leases, ${n * podsPerNode} pods in the informers)`, ...mem() });

  // (c) the first pass after start: every node new (fresh controllers on the same cluster)
  progress(`N=${n}: first pass after start × ${repeats}`);
  const first: Timed[] = [];
  let ctl: Ctl | undefined;
  let firstWrites = '';
  for (let r = 0; r < repeats; r++) {
    if (ctl) {
      await ctl.controller.stop();
      ctl.nodesGate.detach();
      ctl.podsGate.detach();
    }
    const cur = c.newController();
    ctl = cur;
    const before = { ...c.writes };
    first.push(
      await timed(async () => {
        cur.controller.start();
        await cur.controller.monitorNodeHealth();
      }),
    );
    firstWrites = writesSince(c, before, cur.recorder.count);
  }
  const live = ctl!;
  monitorRows.push({ n, pass: 'first pass after start() (all nodes new; idle = + node update worker over N)', writes: firstWrites, samples: first.map((t) => t.ms), idle: first.map((t) => t.idleMs) });
  memRows.push({ n, phase: 'after the first pass', ...mem() });

  // (a) steady state: every Lease renewed since the last pass
  progress(`N=${n}: steady passes`);
  const steady: Timed[] = [];
  const reference: number[] = [];
  const refHealth = new Map<string, NodeHealthData>();
  const settings: NodeLifecycleSettings = defaultNodeLifecycleSettings;
  const zoneStates = new Map<string, ZoneState>();
  const pureSweep = (): void => {
    const now = c.fake.now();
    const zones = new Map<string, (V1NodeCondition | undefined)[]>();
    for (const node of c.nodes.list()) {
      const name = node.metadata!.name!;
      const r = tryUpdateNodeHealth(node, c.leases.get(name, NamespaceNodeLease), refHealth.get(name), now, settings);
      refHealth.set(name, r.health);
      if (!r.currentReadyCondition) continue;
      if (!isNodeExcludedFromDisruptionChecks(node)) {
        const z = zoneKey(node);
        let list = zones.get(z);
        if (!list) zones.set(z, (list = []));
        list.push(r.currentReadyCondition);
      }
      noExecuteAction(node, r.observedReadyCondition);
      nodeNotReadyDecision(r.observedReadyCondition, r.currentReadyCondition, false);
    }
    const d = handleDisruption({ zoneStates, zoneReadyConditions: zones, unhealthyZoneThreshold: settings.unhealthyZoneThreshold, rates: settings });
    zoneStates.clear();
    for (const [z, s] of d.zoneStates) zoneStates.set(z, s);
  };
  pureSweep();
  let steadyWrites = '';
  for (let r = 0; r < Math.max(repeats, 10); r++) {
    await c.fake.advance(5000);
    c.renewAlive();
    const before = { ...c.writes };
    const ev = live.recorder.count;
    steady.push(await timed(() => live.controller.monitorNodeHealth()));
    steadyWrites = writesSince(c, before, live.recorder.count - ev);
    const t0 = performance.now();
    pureSweep();
    reference.push(performance.now() - t0);
  }
  monitorRows.push({ n, pass: 'steady: every Lease renewed since the last pass', writes: steadyWrites, samples: steady.map((t) => t.ms) });
  monitorRows.push({ n, pass: '  reference: the pure decisions alone, same inputs', writes: '-', samples: reference });

  // (b) 10 % go Unknown; the next pass queues them; part 2's NoExecute passes; they come back
  const unknownPass: Timed[] = [];
  const queuePass: Timed[] = [];
  const backPass: Timed[] = [];
  const noExecDefault: number[] = [];
  const noExecFast: number[] = [];
  let unknownWrites = '';
  let queueWrites = '';
  let backWrites = '';
  let queuedAtStart = 0;
  let taintedDefault = 0;
  let taintedFast = 0;
  const cycles = Math.min(repeats, 10);
  for (let cycle = 0; cycle < cycles; cycle++) {
    progress(`N=${n}: 10 % go Unknown, cycle ${cycle + 1}/${cycles}`);
    const dead = c.names.filter((_, i) => i % 10 === cycle % 10);
    for (const d of dead) c.alive.delete(d);
    let found = false;
    for (let p = 0; p < 20 && !found; p++) {
      await c.fake.advance(5000);
      c.renewAlive();
      const before = { ...c.writes };
      const ev = live.recorder.count;
      const t = await timed(() => live.controller.monitorNodeHealth());
      if (c.writes.nodes - before.nodes >= dead.length) {
        found = true;
        unknownPass.push(t);
        unknownWrites = writesSince(c, before, live.recorder.count - ev);
      }
    }
    if (!found) throw new Error(`N=${n}: no pass turned the silent nodes Unknown`);
    await c.fake.advance(5000);
    c.renewAlive();
    let before = { ...c.writes };
    queuePass.push(await timed(() => live.controller.monitorNodeHealth()));
    queueWrites = writesSince(c, before);
    queuedAtStart = c.queued(live);

    // part 2: the NoExecute tainting pass with 10 % queued, at the configured rate...
    const taintedBefore = c.noExecuteTainted();
    for (let p = 0; p < 20; p++) {
      await c.fake.advance(100);
      const t0 = performance.now();
      await live.controller.doNoExecuteTaintingPass();
      noExecDefault.push(performance.now() - t0);
    }
    taintedDefault = c.noExecuteTainted() - taintedBefore;
    // ...and at a rate that admits one node per zone in every pass, until the queues are empty
    for (const z of c.zoneKeys()) live.controller.queueOf(z)?.swapLimiter(1000);
    const fastBefore = c.noExecuteTainted();
    for (let p = 0; p < n && c.queued(live) > 0; p++) {
      await c.fake.advance(100);
      const t0 = performance.now();
      await live.controller.doNoExecuteTaintingPass();
      noExecFast.push(performance.now() - t0);
    }
    taintedFast = c.noExecuteTainted() - fastBefore;
    for (const z of c.zoneKeys()) live.controller.queueOf(z)?.swapLimiter(settings.evictionRate);

    // they come back: fresh status and Lease; the pass removes their NoExecute taints
    await c.fake.advance(5000);
    for (const d of dead) {
      c.alive.add(d);
      c.postStatus(d);
    }
    c.renewAlive();
    before = { ...c.writes };
    backPass.push(await timed(() => live.controller.monitorNodeHealth()));
    backWrites = writesSince(c, before);
  }
  monitorRows.push({ n, pass: 'the pass where 10 % go Unknown (status writes, markPodsNotReady)', writes: unknownWrites, samples: unknownPass.map((t) => t.ms) });
  monitorRows.push({ n, pass: 'the next pass (those 10 % queued for NoExecute)', writes: queueWrites, samples: queuePass.map((t) => t.ms) });
  monitorRows.push({ n, pass: 'the pass where they come back (NoExecute taints removed)', writes: backWrites, samples: backPass.map((t) => t.ms) });

  taintRows.push({ n, pass: `NoExecute pass, ${queuedAtStart} queued, rate ${settings.evictionRate}/s (${taintedDefault} tainted in 20 passes)`, writes: `${taintedDefault} node`, samples: noExecDefault });
  taintRows.push({ n, pass: `NoExecute pass, 1 node per zone per pass (${taintedFast} tainted in ${noExecFast.length / cycles} passes)`, writes: `${c.zoneKeys().length} node/pass`, samples: noExecFast });

  // part 2: NoSchedule over all N nodes after MemoryPressure appears on 10 %
  progress(`N=${n}: NoSchedule passes × ${repeats}`);
  const nsAdd: number[] = [];
  const nsNoop: number[] = [];
  const nsEvents: Timed[] = [];
  let nsAddWrites = '';
  let nsNoopWrites = '';
  let nsEventWrites = '';
  for (let r = 0; r < repeats; r++) {
    const pressured = c.names.filter((_, i) => i % 10 === r % 10);
    await c.fake.advance(1000);
    for (const name of pressured) c.postStatus(name, true);
    let before = { ...c.writes };
    let t0 = performance.now();
    for (const name of c.names) await live.controller.doNoScheduleTaintingPass(name);
    nsAdd.push(performance.now() - t0);
    nsAddWrites = writesSince(c, before);
    before = { ...c.writes };
    t0 = performance.now();
    for (const name of c.names) await live.controller.doNoScheduleTaintingPass(name);
    nsNoop.push(performance.now() - t0);
    nsNoopWrites = writesSince(c, before);
    // the pressure goes away: through the informer events and the node update worker
    await c.fake.advance(1000);
    live.nodesGate.open = true;
    before = { ...c.writes };
    nsEvents.push(
      await timed(async () => {
        for (const name of pressured) c.postStatus(name, false);
        await flushMicrotasks();
      }),
    );
    nsEventWrites = writesSince(c, before);
    live.nodesGate.open = false;
  }
  taintRows.push({ n, pass: `NoSchedule over N (doNoScheduleTaintingPass each), MemoryPressure on 10 %`, writes: nsAddWrites, samples: nsAdd });
  taintRows.push({ n, pass: 'NoSchedule over N, nothing to change', writes: nsNoopWrites, samples: nsNoop });
  taintRows.push({ n, pass: '10 % pressure cleared via informer events → node update worker, until idle', writes: nsEventWrites, samples: nsEvents.map((t) => t.idleMs) });

  memRows.push({ n, phase: 'after all passes (controller alive)', ...mem() });
  // markPodsNotReady's lookup: a pods.list() scan per node, against a by-node index (after the
  // memory reading: 500 copies of the 50 000-pod list are the bench's churn, not the controller's)
  const dead10 = c.names.filter((_, i) => i % 10 === 0);
  {
    const t0 = performance.now();
    let k = 0;
    for (const name of dead10) for (const p of c.pods.list()) if (p.spec?.nodeName === name) k++;
    const scan = performance.now() - t0;
    const t1 = performance.now();
    const byNode = new Map<string, V1Pod[]>();
    for (const p of c.pods.list()) {
      const node = p.spec?.nodeName ?? '';
      let l = byNode.get(node);
      if (!l) byNode.set(node, (l = []));
      l.push(p);
    }
    let k2 = 0;
    for (const name of dead10) k2 += byNode.get(name)?.length ?? 0;
    const indexed = performance.now() - t1;
    if (k !== k2) throw new Error('pod lookup mismatch');
    monitorRows.push({ n, pass: `  reference: 10 % × pods.list() scan (markPodsNotReady's lookup, ${k} pods)`, writes: '-', samples: [scan] });
    monitorRows.push({ n, pass: '  reference: the same through a by-node index (built here)', writes: '-', samples: [indexed] });
  }

  await live.controller.stop();
}

// ---------------------------------------------------------------- part 3: the eviction rate

interface RateScenario {
  name: string;
  zoneNodes: number;
  down: number;
  /** A second, healthy zone (so the cluster is never wholly disrupted). */
  otherNodes: number;
  settings: Partial<NodeLifecycleSettings>;
}
interface RateRow {
  scenario: string;
  zoneNodes: number;
  down: number;
  state: string;
  configured: number;
  expected: number;
  tainted: number;
  firstAfterS: number | undefined;
  intervalS: number | undefined;
  times: number[];
  wallMs: number;
}
const rateRows: RateRow[] = [];
const windowMs = 60_000;

async function rateScenario(s: RateScenario): Promise<void> {
  const wall0 = performance.now();
  const settings = { ...defaultNodeLifecycleSettings, ...s.settings };
  const clock = new FakeClock(T0);
  const nodes = new MemoryInformer<V1Node>([], nodeCacheTransform);
  const leases = new MemoryInformer<V1Lease>();
  const pods = new MemoryInformer<V1Pod>([], podCacheTransform);
  const client = memoryNodeLifecycleClient({ getNode: (n) => nodes.get(n), putNode: (n) => nodes.upsert(n), putPod: (p) => pods.upsert(p) });
  const alive = new Set<string>();
  const renew = (name: string): void => {
    const l = leases.get(name, NamespaceNodeLease);
    leases.upsert(l ? { ...l, spec: { ...l.spec, renewTime: new V1MicroTime(clock.now()) } } : makeLease(name, `uid-${name}`, clock.now()));
  };
  const zoneA: string[] = [];
  for (let i = 0; i < s.zoneNodes + s.otherNodes; i++) {
    const name = `node-${i}`;
    const zone = i < s.zoneNodes ? 'zone-a' : 'zone-b';
    if (zone === 'zone-a') zoneA.push(name);
    nodes.upsert(makeNode(name, i, zone, clock.now()));
    alive.add(name);
    renew(name);
    pods.upsert(makePod(name, '172.16.0.1', 0, clock.now()));
  }
  const controller = new NodeLifecycleController({ nodes, leases, pods, client, clock, registry: newRegistry(), settings });
  // the kubelets: a Lease renewal every 10 s (registered first: at a shared instant they renew before the controller's pass)
  clock.setInterval(() => {
    for (const name of alive) renew(name);
  }, 10_000);
  await Promise.all([nodes.start(), leases.start(), pods.start()]);
  controller.start();
  await clock.advance(0);
  const step = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 100) await clock.advance(100);
  };
  await step(10_000);
  const dead = zoneA.slice(0, s.down);
  for (const d of dead) alive.delete(d);
  const isUnknown = (name: string): boolean => nodes.get(name)?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown';
  let tUnknown: number | undefined;
  for (let t = 0; t < 120_000 && tUnknown === undefined; t += 100) {
    await clock.advance(100);
    if (dead.every(isUnknown)) tUnknown = clock.now();
  }
  if (tUnknown === undefined) throw new Error(`${s.name}: the silent nodes never went Unknown`);
  await step(windowMs);
  await controller.stop();
  const times: number[] = [];
  for (const d of dead) {
    const t = nodes.get(d)?.spec?.taints?.find((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute');
    if (t?.timeAdded) times.push(new Date(t.timeAdded).getTime() - tUnknown);
  }
  times.sort((a, b) => a - b);
  const inWindow = times.filter((t) => t >= 0 && t <= windowMs);
  const state = controller.zoneState(zoneKeyOf('zone-a')) ?? '?';
  const configured = controller.queueOf(zoneKeyOf('zone-a'))?.qps ?? NaN;
  // token bucket, burst 1 (full: no eviction before): queued one monitor period after the Unknown write,
  // the first at once, then one every 1/rate s
  const queuedAfter = settings.nodeMonitorPeriodMs;
  const expected = configured > 0 ? Math.min(s.down, 1 + Math.floor(((windowMs - queuedAfter) * configured) / 1000 + 1e-9)) : 0;
  const intervals = inWindow.slice(1).map((t, i) => t - inWindow[i]!);
  rateRows.push({
    scenario: s.name,
    zoneNodes: s.zoneNodes,
    down: s.down,
    state,
    configured,
    expected,
    tainted: inWindow.length,
    firstAfterS: inWindow[0] !== undefined ? inWindow[0] / 1000 : undefined,
    intervalS: intervals.length ? intervals.reduce((a, b) => a + b, 0) / intervals.length / 1000 : undefined,
    times: inWindow,
    wallMs: performance.now() - wall0,
  });
}

// ---------------------------------------------------------------- run

const self = fileURLToPath(import.meta.url);
const repoRoot = dirname(dirname(self));
if (args.child) {
  for (const n of sizes) await benchSize(n);
  writeFileSync(args.json!, JSON.stringify({ monitorRows, taintRows, memRows, objectSizes }));
  process.exit(0);
}

const runInfo = {
  command: `node ${process.execArgv.join(' ')} ${process.argv.slice(1).map((a) => a.replace(repoRoot + '/', '')).join(' ')}`.replace(/\s+/g, ' '),
  node: process.version,
  exposeGc: gcFn !== undefined,
  cpus: cpus().length,
  loadavg1m: loadavg()[0],
  sizes,
  zones: zoneCount,
  podsPerNode,
  repeats,
  childPerSize: !args['in-process'],
};
progress(`run: ${runInfo.command} (${gcFn ? 'global.gc available: full GC before each memory reading' : 'no --expose-gc: memory readings without a forced GC'}), load ${loadavg()[0]?.toFixed(1)} on ${cpus().length} CPUs`);

/** This bench bundled for the child processes (plain node, no tsx loader in the RSS). */
async function compiledSelf(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(repoRoot, 'node_modules', '.cache', 'nodelet-bench', 'nodelifecycle.mjs');
  await build({ entryPoints: [self], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
  return outfile;
}

if (args['in-process']) {
  for (const n of sizes) await benchSize(n);
} else {
  const childScript = await compiledSelf();
  const childFlags = process.execArgv.filter((a, i, all) => a !== 'tsx' && a !== '--import=tsx' && !(a === '--import' && all[i + 1] === 'tsx'));
  progress(`children: node ${childFlags.join(' ')} ${childScript.replace(repoRoot + '/', '')} (this bench, bundled)`);
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'nodelet-bench-nlc-'));
    try {
      const file = join(dir, 'rows.json');
      const childArgs = [...childFlags, childScript, '--child', '--sizes', String(n), '--zones', String(zoneCount), '--pods-per-node', String(podsPerNode), '--repeats', String(repeats), '--json', file];
      const r = spawnSync(process.execPath, childArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error(`N=${n}: the child process failed (${r.status ?? r.signal})`);
      const j = JSON.parse(readFileSync(file, 'utf8')) as { monitorRows: PassRow[]; taintRows: PassRow[]; memRows: MemRow[]; objectSizes: Record<string, number> };
      monitorRows.push(...j.monitorRows);
      taintRows.push(...j.taintRows);
      memRows.push(...j.memRows);
      Object.assign(objectSizes, j.objectSizes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const rateScenarios: RateScenario[] = [
  { name: 'Normal zone, --node-eviction-rate 0.1', zoneNodes: 100, down: 20, otherNodes: 10, settings: { evictionRate: 0.1 } },
  { name: 'Normal zone, --node-eviction-rate 1.0', zoneNodes: 100, down: 20, otherNodes: 10, settings: { evictionRate: 1.0 } },
  { name: 'PartialDisruption, large zone (secondary 0.01)', zoneNodes: 100, down: 60, otherNodes: 10, settings: { evictionRate: 0.1, secondaryEvictionRate: 0.01 } },
  { name: 'PartialDisruption, small zone (≤ 50 nodes)', zoneNodes: 20, down: 12, otherNodes: 10, settings: { evictionRate: 0.1, secondaryEvictionRate: 0.01 } },
];
for (const s of rateScenarios) {
  progress(`rate: ${s.name} (${s.down} of ${s.zoneNodes} stop renewing)`);
  await rateScenario(s);
}

// ---------------------------------------------------------------- report

const out = process.stdout;
out.write(`\nnode lifecycle controller, in memory (${zoneCount} zones, ${podsPerNode} pods per node; objects as JSON: node ${objectSizes['node']} B (cached ${objectSizes['nodeCached']} B), lease ${objectSizes['lease']} B, pod ${objectSizes['pod']} B (cached ${objectSizes['podCached']} B))\n`);
out.write(`run: ${runInfo.command}; ${runInfo.node}; ${runInfo.exposeGc ? 'full GC before each memory reading' : 'no --expose-gc (memory readings without a forced GC)'}; load average ${runInfo.loadavg1m?.toFixed(1)} on ${runInfo.cpus} CPUs at the start\n`);
out.write(`wall times: median and max over the samples; the FakeClock does not move during a pass, so it is the controller's own CPU time\n\n`);

const passTable = (rows: PassRow[]): string =>
  formatTable(
    ['N', 'pass', 'writes', 'median', 'max', 'samples'],
    rows.map((r) => [String(r.n), r.pass, r.writes, fmtMs(median(r.samples)) + (r.idle ? ` (idle ${fmtMs(median(r.idle))})` : ''), fmtMs(Math.max(...r.samples)), String(r.samples.length)]),
  );
out.write('1. monitorNodeHealth: one pass\n\n');
out.write(passTable(monitorRows));
out.write('\n2. tainting passes\n\n');
out.write(passTable(taintRows));
out.write('\n   memory\n\n');
out.write(
  formatTable(
    ['N', 'phase', 'RSS', 'heapTotal', 'heapUsed'],
    memRows.map((m) => [String(m.n), m.phase, `${m.rssMiB.toFixed(0)} MiB`, `${m.heapTotalMiB.toFixed(0)} MiB`, `${m.heapUsedMiB.toFixed(1)} MiB`]),
  ),
);
out.write(`   ${runInfo.childPerSize ? 'each N in a fresh child process running the bench compiled (esbuild bundle, plain node: no tsx loader)' : 'all N in this process (later rows carry the earlier heap; RSS includes tsx\'s loader, ~95 MiB)'}\n`);

out.write(`\n3. NoExecute taints in the ${windowMs / 1000} s after the nodes went Unknown (real loops: start(), FakeClock in 100 ms steps; a second zone of 10 healthy nodes)\n\n`);
out.write(
  formatTable(
    ['scenario', 'zone', 'down', 'zone state', 'rate', 'expected', 'tainted', 'achieved', 'first', 'interval', 'taint times (s after Unknown)'],
    rateRows.map((r) => [
      r.scenario,
      `${r.zoneNodes} nodes`,
      String(r.down),
      r.state,
      `${r.configured}/s`,
      String(r.expected),
      String(r.tainted),
      `${(r.tainted / (windowMs / 1000)).toFixed(3)}/s`,
      r.firstAfterS === undefined ? '-' : `+${r.firstAfterS.toFixed(1)} s`,
      r.intervalS === undefined ? '-' : `${r.intervalS.toFixed(2)} s`,
      r.times.length > 8 ? `${r.times.slice(0, 8).map((t) => (t / 1000).toFixed(1)).join(', ')}, … ${(r.times[r.times.length - 1]! / 1000).toFixed(1)}` : r.times.map((t) => (t / 1000).toFixed(1)).join(', ') || '-',
    ]),
  ),
);
out.write('   expected: token bucket of burst 1 (full), nodes queued one monitor period (5 s) after the Unknown write, then one per 1/rate s, capped by the nodes down\n');

const big = Math.max(...sizes);
const worstPass = Math.max(...monitorRows.filter((r) => r.n === big && !r.pass.startsWith('  ')).map((r) => median(r.samples)));
const worstRss = Math.max(...memRows.filter((m) => m.n === big).map((m) => m.rssMiB));
const slowest = monitorRows.filter((r) => r.n === big && !r.pass.startsWith('  ')).map((r) => `${r.pass.split(' (')[0]} ${fmtMs(median(r.samples))}`);
out.write(`\ngoal (≤ 100 ms per pass, ≤ 300 MiB at 5000 nodes), at N=${big}: slowest monitor pass median ${fmtMs(worstPass)} ${worstPass <= 100 ? 'met' : 'NOT met'}; peak RSS${runInfo.childPerSize ? '' : ' (with tsx)'} ${worstRss.toFixed(0)} MiB ${worstRss <= 300 ? 'met' : 'NOT met'}\n`);
out.write(`   passes: ${slowest.join('; ')}\n`);
out.write(`total wall time ${((performance.now() - benchStart) / 1000).toFixed(1)} s\n`);

if (args.json) {
  writeFileSync(args.json, JSON.stringify({ run: runInfo, objectSizes, monitor: monitorRows, tainting: taintRows, memory: memRows, rate: rateRows }, null, 2) + '\n');
}
