// Container GC: the pure selections (per-pod and global caps, deleted pods, sandboxes, log
// directory names) with tables, and the executor on the simulated runtime with temporary log and
// cgroup directories and a FakeClock.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Container, PodSandboxConfig } from '../../runtime/types.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import { RuntimeError } from '../../runtime/errors.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { LocalEventStore } from '../events/index.js';
import {
  ContainerGC,
  evictableContainers,
  podUidFromLogsDirectory,
  selectContainersToRemove,
  selectSandboxesToRemove,
  type EvictUnit,
  type GCContainer,
  type GCSandbox,
  type PodStateProvider,
} from './gc.js';
import { containerNameLabel, nodeNameLabel, podNameLabel, podNamespaceLabel, podUidLabel } from './labels.js';

const policy = { minAgeMs: 0, maxPerPodContainer: 1, maxContainers: -1 };
const none = (): boolean => false;

function gcc(id: string, createdAt: number, podUid = 'p'): GCContainer {
  return { id, podUid, name: 'c', createdAt, unknown: false, gracePeriodSeconds: 30 };
}
function unit(podUid: string, name: string, ...created: number[]): EvictUnit {
  return { podUid, name, containers: created.map((t) => ({ ...gcc(`${podUid}-${name}-${t}`, t, podUid), name })) };
}
const ids = (list: { id: string }[]): string[] => list.map((c) => c.id);

function listed(id: string, state: Container['state'], createdAtMs: number, labels: Record<string, string>, name = 'c'): Container {
  return { id, podSandboxId: 'sb', metadata: { name, attempt: 0 }, image: { image: 'img' }, imageRef: 'img', state, createdAt: createdAtMs * 1e6, labels, annotations: {} };
}

describe('container GC selection', () => {
  it('groups this node’s dead containers old enough by pod UID and container name', () => {
    const mine = (uid: string): Record<string, string> => ({ [podUidLabel]: uid, [nodeNameLabel]: 'node-a' });
    const units = evictableContainers(
      [
        listed('running', 'CONTAINER_RUNNING', 0, mine('p1')),
        listed('exited-1', 'CONTAINER_EXITED', 0, mine('p1')),
        listed('exited-2', 'CONTAINER_EXITED', 10, mine('p1')),
        listed('created', 'CONTAINER_CREATED', 0, mine('p1'), 'init'),
        listed('unknown', 'CONTAINER_UNKNOWN', 0, mine('p2')),
        listed('too-young', 'CONTAINER_EXITED', 95_000, mine('p2')),
        listed('other-node', 'CONTAINER_EXITED', 0, { [podUidLabel]: 'p3', [nodeNameLabel]: 'node-b' }),
        listed('no-node', 'CONTAINER_EXITED', 0, { [podUidLabel]: 'p4' }),
      ],
      'node-a',
      100_000,
      10_000,
    );
    assert.deepEqual(
      units.map((u) => [u.podUid, u.name, ids(u.containers)]),
      [
        ['p1', 'c', ['exited-1', 'exited-2']],
        ['p1', 'init', ['created']],
        ['p2', 'c', ['unknown']],
      ],
    );
    assert.equal(units[2]!.containers[0]!.unknown, true);
    assert.equal(units[0]!.containers[1]!.createdAt, 10, 'CRI nanoseconds become milliseconds');
  });

  it('keeps the newest maxPerPodContainer of each pod container, removing oldest first', () => {
    const units = [unit('p1', 'app', 1, 3, 2, 4), unit('p1', 'sidecar', 5), unit('p2', 'app', 6, 7)];
    const table: [maxPer: number, removed: string[]][] = [
      [1, ['p1-app-1', 'p1-app-2', 'p1-app-3', 'p2-app-6']],
      [2, ['p1-app-1', 'p1-app-2']],
      [0, ['p1-app-1', 'p1-app-2', 'p1-app-3', 'p1-app-4', 'p1-sidecar-5', 'p2-app-6', 'p2-app-7']],
      [-1, []],
    ];
    for (const [maxPer, removed] of table) {
      assert.deepEqual(ids(selectContainersToRemove(units, { ...policy, maxPerPodContainer: maxPer }, none)), removed, `maxPerPodContainer ${maxPer}`);
    }
  });

  it('removes every dead container of a pod that no longer exists', () => {
    const units = [unit('gone', 'app', 1, 2), unit('gone', 'init', 3), unit('here', 'app', 4, 5)];
    assert.deepEqual(ids(selectContainersToRemove(units, policy, (uid) => uid === 'gone')), ['gone-app-1', 'gone-app-2', 'gone-init-3', 'here-app-4']);
  });

  it('with a global cap, leaves maxContainers / units per unit (at least 1), then removes the oldest overall', () => {
    const noPer = { ...policy, maxPerPodContainer: -1 };
    // 6 dead in 3 units, cap 4: 4/3 = 1 per unit leaves 3, which is under the cap (upstream removes more than needed)
    assert.deepEqual(ids(selectContainersToRemove([unit('a', 'c', 1, 2, 3), unit('b', 'c', 4), unit('c', 'c', 5, 6)], { ...noPer, maxContainers: 4 }, none)), ['a-c-1', 'a-c-2', 'c-c-5']);
    // 5 units of 1, cap 2: at least 1 per unit leaves 5, then the 3 oldest overall go
    assert.deepEqual(ids(selectContainersToRemove([unit('a', 'c', 50), unit('b', 'c', 10), unit('c', 'c', 40), unit('d', 'c', 20), unit('e', 'c', 30)], { ...noPer, maxContainers: 2 }, none)), ['b-c-10', 'd-c-20', 'e-c-30']);
    // under the cap: nothing
    assert.deepEqual(ids(selectContainersToRemove([unit('a', 'c', 1, 2)], { ...noPer, maxContainers: 2 }, none)), []);
    // the per-pod cap first, then the global one: 2 per unit leaves 4 of 5, cap 3 → 3/2 = 1 per unit
    assert.deepEqual(ids(selectContainersToRemove([unit('a', 'c', 1, 2, 3), unit('b', 'c', 4, 5)], { ...policy, maxPerPodContainer: 2, maxContainers: 3 }, none)), ['a-c-1', 'a-c-2', 'b-c-4']);
  });

  it('removes inactive sandboxes, keeping the newest sandbox of a pod that still exists', () => {
    const sb = (id: string, podUid: string, createdAt: number, active = false): GCSandbox => ({ id, podUid, createdAt, active });
    const sandboxes = [
      sb('here-old', 'here', 1),
      sb('here-newest', 'here', 3),
      sb('here-mid-active', 'here', 2, true),
      sb('gone-1', 'gone', 1),
      sb('gone-2', 'gone', 2),
      sb('gone-active', 'gone', 3, true),
    ];
    assert.deepEqual(ids(selectSandboxesToRemove(sandboxes, (uid) => uid === 'gone')), ['here-old', 'gone-1', 'gone-2']);
  });

  it('reads the pod UID from <namespace>_<name>_<uid> log directory names only', () => {
    const table: [string, string | undefined][] = [
      ['default_web_1234-abcd', '1234-abcd'],
      ['kube-system_dns-7f_uid', 'uid'],
      ['cli-Ab12Cd', undefined],
      ['a_b', undefined],
      ['a_b_c_d', undefined],
      ['a__c', undefined],
    ];
    for (const [name, uid] of table) assert.equal(podUidFromLogsDirectory(name), uid, name);
  });
});

describe('ContainerGC on the simulated runtime', () => {
  const NODE = 'node-a';
  const IMAGE = 'localhost/busybox:latest';
  let dir: string;
  let logsDir: string;
  let cgroupRoot: string;
  let clock: FakeClock;
  let sim: SimRuntime;
  let logger: MemoryLogger;
  let events: LocalEventStore;
  /** Pod UIDs the kubelet still has; any other pod is deleted. */
  let existing: Set<string>;
  let terminated: Set<string>;
  let ready: boolean;
  let gc: ContainerGC;
  const provider: PodStateProvider = { isPodDeleted: (uid) => !existing.has(uid), isPodTerminated: (uid) => terminated.has(uid) };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-gc-'));
    logsDir = join(dir, 'pods');
    cgroupRoot = join(dir, 'cgroup');
    for (const c of ['cpu', 'memory', 'pids']) mkdirSync(join(cgroupRoot, c, 'k8s.io'), { recursive: true });
    clock = new FakeClock(Date.now());
    sim = new SimRuntime({ clock, images: [{ ref: IMAGE }] });
    logger = new MemoryLogger();
    events = new LocalEventStore(clock, logger);
    existing = new Set();
    terminated = new Set();
    ready = true;
    gc = newGC();
  });

  afterEach(() => {
    gc.stop();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function newGC(extra: Partial<ConstructorParameters<typeof ContainerGC>[0]> = {}): ContainerGC {
    return new ContainerGC({ runtime: sim, clock, nodeName: NODE, podStateProvider: provider, sourcesReady: () => ready, podLogsDir: logsDir, cgroupRoot, logger, recorder: events, ...extra });
  }

  interface SimPod {
    uid: string;
    sandboxId: string;
    cfg: PodSandboxConfig;
    logDir: string;
  }

  /** A pod with its sandbox, log directory and cgroup directories (as containerd makes them). */
  async function makePod(name: string, opts: { node?: string; keep?: boolean } = {}): Promise<SimPod> {
    const uid = `uid-${name}`;
    if (opts.keep !== false) existing.add(uid);
    const logDir = join(logsDir, `default_${name}_${uid}`);
    mkdirSync(logDir, { recursive: true });
    const labels = { [podNameLabel]: name, [podNamespaceLabel]: 'default', [podUidLabel]: uid, [nodeNameLabel]: opts.node ?? NODE };
    const cfg: PodSandboxConfig = { metadata: { name, namespace: 'default', uid, attempt: 0 }, logDirectory: logDir, labels };
    const sandboxId = await sim.runPodSandbox(cfg);
    mkCgroups(sandboxId);
    return { uid, sandboxId, cfg, logDir };
  }

  function mkCgroups(id: string): void {
    for (const c of ['cpu', 'memory', 'pids']) mkdirSync(join(cgroupRoot, c, 'k8s.io', id));
  }
  function cgroupsOf(id: string): number {
    return ['cpu', 'memory', 'pids'].filter((c) => existsSync(join(cgroupRoot, c, 'k8s.io', id))).length;
  }

  /** A container that ran and exited (or is still running); one second of clock per container. */
  async function addContainer(pod: SimPod, name: string, attempt: number, running = false): Promise<string> {
    await clock.advance(1000);
    const labels = { ...pod.cfg.labels!, [containerNameLabel]: name };
    const id = await sim.createContainer(pod.sandboxId, { metadata: { name, attempt }, image: { image: IMAGE }, command: ['sleep', '3600'], labels, logPath: `${name}/${attempt}.log` }, pod.cfg);
    await sim.startContainer(id);
    if (!running) sim.exitContainer(id, 1);
    return id;
  }

  async function containerIds(): Promise<string[]> {
    return (await sim.listContainers()).map((c) => c.id);
  }

  /** Makes a directory look older than the one-minute guard. */
  function age(path: string): void {
    const t = new Date(clock.now() - 5 * 60_000);
    utimesSync(path, t, t);
  }

  it('keeps the newest dead container of a crash-looping container, with the running one, in four CRI calls', async () => {
    const pod = await makePod('crashy');
    const dead = [];
    for (let i = 0; i < 4; i++) dead.push(await addContainer(pod, 'app', i));
    const running = await addContainer(pod, 'app', 4, true);
    sim.calls.clear();
    const result = await gc.garbageCollect();
    assert.deepEqual(result, { containersRemoved: 3, sandboxesRemoved: 0, logDirsRemoved: 0, cgroupDirsRemoved: 0, failures: 0 });
    assert.deepEqual((await containerIds()).sort(), [dead[3]!, running].sort());
    assert.deepEqual(Object.fromEntries(sim.calls), { ListContainers: 2, ListPodSandbox: 1, RemoveContainer: 3 }, 'one listing each (plus this test’s), one removal per container');
    assert.ok(logger.find((r) => r.msg === 'Container garbage collection removed' && r.fields['containersRemoved'] === 3));
  });

  it('removes everything of a deleted pod: containers, sandboxes, log directory and cgroup directories', async () => {
    const gone = await makePod('gone', { keep: false });
    const c1 = await addContainer(gone, 'app', 0);
    mkCgroups(c1);
    await addContainer(gone, 'app', 1);
    await sim.stopPodSandbox(gone.sandboxId);
    const here = await makePod('here');
    await addContainer(here, 'app', 0, true);
    age(gone.logDir);
    age(here.logDir);
    const result = await gc.garbageCollect();
    assert.deepEqual(result, { containersRemoved: 2, sandboxesRemoved: 1, logDirsRemoved: 1, cgroupDirsRemoved: 6, failures: 0 });
    assert.deepEqual((await sim.listPodSandbox()).map((s) => s.id), [here.sandboxId]);
    assert.equal(existsSync(gone.logDir), false);
    assert.equal(existsSync(here.logDir), true);
    assert.equal(cgroupsOf(gone.sandboxId) + cgroupsOf(c1), 0);
    assert.equal(cgroupsOf(here.sandboxId), 3);
    assert.deepEqual(sim.calls.get('StopPodSandbox'), 2, 'stopped before removal, as upstream (once by the test)');
  });

  it('keeps the newest sandbox of an existing pod and removes its older dead ones', async () => {
    const pod = await makePod('web');
    await addContainer(pod, 'app', 0);
    await sim.stopPodSandbox(pod.sandboxId);
    await sim.removeContainer((await containerIds())[0]!);
    await clock.advance(1000);
    const newer = await sim.runPodSandbox({ ...pod.cfg, metadata: { ...pod.cfg.metadata, attempt: 1 } });
    await sim.stopPodSandbox(newer); // even a dead newest sandbox stays while the pod exists
    assert.equal((await gc.garbageCollect()).sandboxesRemoved, 1);
    assert.deepEqual((await sim.listPodSandbox()).map((s) => s.id), [newer]);
    assert.equal((await gc.garbageCollect()).sandboxesRemoved, 0);
  });

  it('touches nothing of pods another node created, nor their log directories, nor directories not named like pod logs', async () => {
    const theirs = await makePod('theirs', { node: 'node-b', keep: false });
    for (let i = 0; i < 3; i++) await addContainer(theirs, 'app', i);
    await sim.stopPodSandbox(theirs.sandboxId);
    age(theirs.logDir);
    const stray = join(logsDir, 'cli-Ab12Cd');
    mkdirSync(stray);
    age(stray);
    const result = await gc.garbageCollect();
    assert.deepEqual(result, { containersRemoved: 0, sandboxesRemoved: 0, logDirsRemoved: 0, cgroupDirsRemoved: 0, failures: 0 });
    assert.equal((await sim.listContainers()).length, 3);
    assert.equal(existsSync(theirs.logDir), true);
    assert.equal(existsSync(stray), true);
  });

  it('leaves a deleted pod’s log directory younger than a minute (it may be another nodelet’s pod being created)', async () => {
    mkdirSync(join(logsDir, 'default_new_uid-new'), { recursive: true });
    assert.equal((await gc.garbageCollect()).logDirsRemoved, 0);
    age(join(logsDir, 'default_new_uid-new'));
    assert.equal((await gc.garbageCollect()).logDirsRemoved, 1);
  });

  it('until all pod sources are ready, removes no deleted pod’s containers, sandboxes or logs, but still caps dead containers', async () => {
    ready = false;
    const gone = await makePod('gone', { keep: false });
    for (let i = 0; i < 3; i++) await addContainer(gone, 'app', i);
    age(gone.logDir);
    const result = await gc.garbageCollect();
    assert.deepEqual(result, { containersRemoved: 2, sandboxesRemoved: 0, logDirsRemoved: 0, cgroupDirsRemoved: 0, failures: 0 });
    ready = true;
    await sim.stopPodSandbox(gone.sandboxId);
    assert.deepEqual(await gc.garbageCollect(), { containersRemoved: 1, sandboxesRemoved: 1, logDirsRemoved: 1, cgroupDirsRemoved: 3, failures: 0 });
  });

  it('keeps dead containers younger than minAge', async () => {
    gc = newGC({ policy: { minAgeMs: 10_000 } });
    const pod = await makePod('web');
    for (let i = 0; i < 3; i++) await addContainer(pod, 'app', i);
    assert.equal((await gc.garbageCollect()).containersRemoved, 0, 'created 2, 1 and 0 s ago');
    await clock.advance(8000);
    assert.equal((await gc.garbageCollect()).containersRemoved, 0, 'only the first is 10 s old: the one dead container old enough is kept');
    await clock.advance(1000);
    assert.equal((await gc.garbageCollect()).containersRemoved, 1, 'the first two are old enough: the older goes');
    assert.equal((await sim.listContainers()).length, 2);
  });

  it('caps dead containers on the node with maxContainers', async () => {
    gc = newGC({ policy: { maxPerPodContainer: -1, maxContainers: 2 } });
    for (const name of ['a', 'b', 'c']) {
      const pod = await makePod(name);
      await addContainer(pod, 'app', 0);
    }
    assert.equal((await gc.garbageCollect()).containersRemoved, 1);
    assert.deepEqual((await sim.listContainers()).map((c) => c.labels[podNameLabel]).sort(), ['b', 'c'], 'the oldest went');
  });

  it('goes on past a container it cannot remove, and fails the pass (ContainerGCFailed) only when it cannot list', async () => {
    const pod = await makePod('web');
    for (let i = 0; i < 4; i++) await addContainer(pod, 'app', i);
    sim.injectFault('RemoveContainer', { error: () => new RuntimeError('Unknown', 'RemoveContainer', 'boom') });
    const result = await gc.garbageCollect();
    assert.deepEqual([result.containersRemoved, result.failures], [2, 1]);
    assert.ok(logger.find((r) => r.level === 'error' && r.msg === 'Failed to remove container'));

    sim.injectFault('ListContainers', { error: () => new RuntimeError('Unavailable', 'ListContainers', 'connection refused') });
    gc.start();
    await clock.advance(0);
    const failed = events.list().filter((e) => e.reason === 'ContainerGCFailed');
    assert.equal(failed.length, 1);
    assert.deepEqual([failed[0]!.involvedObject.kind, failed[0]!.type], ['Node', 'Warning']);
    assert.match(failed[0]!.message, /connection refused/);
  });

  it('runs at start and every minute', async () => {
    gc.start();
    await clock.advance(0);
    assert.equal(sim.calls.get('ListPodSandbox'), 1);
    await clock.advance(59_999);
    assert.equal(sim.calls.get('ListPodSandbox'), 1);
    await clock.advance(1);
    assert.equal(sim.calls.get('ListPodSandbox'), 2);
    gc.stop();
    await clock.advance(5 * 60_000);
    assert.equal(sim.calls.get('ListPodSandbox'), 2);
  });

  it('removes empty leftover cgroup directories of ids no runtime object has, older than a minute', async () => {
    const pod = await makePod('web'); // listed: its directories stay
    age(join(cgroupRoot, 'cpu', 'k8s.io', pod.sandboxId));
    const leftover = 'a'.repeat(64);
    const young = 'b'.repeat(64);
    const busy = 'c'.repeat(64);
    for (const id of [leftover, young, busy]) mkdirSync(join(cgroupRoot, 'memory', 'k8s.io', id));
    mkdirSync(join(cgroupRoot, 'memory', 'k8s.io', busy, 'child'));
    mkdirSync(join(cgroupRoot, 'memory', 'k8s.io', 'not-an-id'));
    for (const id of [leftover, busy, 'not-an-id']) age(join(cgroupRoot, 'memory', 'k8s.io', id));
    writeFileSync(join(cgroupRoot, 'memory', 'k8s.io', 'tasks'), '');
    assert.equal((await gc.garbageCollect()).cgroupDirsRemoved, 1);
    assert.deepEqual(readdirSync(join(cgroupRoot, 'memory', 'k8s.io')).sort(), [pod.sandboxId, young, busy, 'not-an-id', 'tasks'].sort());
  });

  it('deleteAllUnusedContainers also removes the dead containers of terminated pods that still exist', async () => {
    const pod = await makePod('done');
    await addContainer(pod, 'app', 0);
    terminated.add(pod.uid);
    assert.equal((await gc.garbageCollect()).containersRemoved, 0);
    assert.equal((await gc.deleteAllUnusedContainers()).containersRemoved, 1);
    assert.equal(existsSync(pod.logDir), true, 'its logs stay while the pod exists');
  });
});
