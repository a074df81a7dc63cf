// KubeRuntimeManager on the simulated runtime and a fake clock: reading pods back from the
// runtime's labels, syncPod's CRI calls, killPod's grace periods, removePod's cleanup, and the
// image puller's policies and backoff as syncPod reports them. Time only moves when the test says.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { hashContainer } from '../../api/hash.js';
import type { Runtime } from '../../runtime/index.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import type { RuntimePodStatus } from '../container/index.js';
import { LocalEventStore } from '../events/index.js';
import type { NodeContext } from './config.js';
import { KubeRuntimeManager } from './manager.js';
import { track } from '../../util/testing.js';

const BUSYBOX = 'localhost/busybox:latest';
const BROKEN = '127.0.0.1:5000/broken:1.0';

const node: NodeContext = {
  nodeName: 'sim-node',
  hostIP: '192.0.2.10',
  resolvConf: 'nameserver 192.0.2.53\n',
  clusterDNS: [],
  clusterDomain: 'cluster.local',
  memoryCapacity: 8 * 1024 ** 3,
  allocatableCpuMillis: 2000,
  allocatableMemory: 8 * 1024 ** 3,
};

function ctr(name: string, script = 'sleep 3600', extra: Partial<V1Container> = {}): V1Container {
  return { name, image: BUSYBOX, command: ['sh', '-c', script], ...extra };
}

function makePod(name: string, containers: V1Container[], extra: { uid?: string; restartPolicy?: string; grace?: number; deletionGrace?: number } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'default', uid: extra.uid ?? `uid-${name}`, ...(extra.deletionGrace !== undefined ? { deletionGracePeriodSeconds: extra.deletionGrace } : {}) },
    spec: { restartPolicy: extra.restartPolicy ?? 'Always', containers, ...(extra.grace !== undefined ? { terminationGracePeriodSeconds: extra.grace } : {}) },
  };
}


describe('KubeRuntimeManager on the simulated runtime', () => {
  let dir: string;
  let clock: FakeClock;
  let sim: SimRuntime;
  let events: LocalEventStore;
  let mgr: KubeRuntimeManager;
  let rootDir: string;
  let logsRoot: string;
  /** CRI methods in call order (through a recording proxy). */
  let order: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-kuberuntime-'));
    rootDir = join(dir, 'root');
    logsRoot = join(dir, 'logs');
    clock = new FakeClock();
    sim = new SimRuntime({ clock, images: [{ ref: BUSYBOX, defaultCommand: ['sh'] }], registry: [{ ref: BROKEN, pullError: 'dial tcp 127.0.0.1:5000: connection refused' }] });
    events = new LocalEventStore(clock, new MemoryLogger());
    order = [];
    const recording = new Proxy(sim, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          order.push(String(prop));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Runtime;
    mgr = new KubeRuntimeManager({ runtime: recording, clock, logger: new MemoryLogger(), recorder: events, node, rootDir, podLogsRoot: logsRoot, runtimeName: 'sim' });
  });

  afterEach(() => {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = (p: V1Pod): Promise<RuntimePodStatus> => mgr.getPodStatus(p.metadata!.uid!, p.metadata!.name!, p.metadata!.namespace!);
  const sync = async (p: V1Pod): Promise<Awaited<ReturnType<KubeRuntimeManager['syncPod']>>> => mgr.syncPod(p, await statusOf(p));
  const calls = (m: string): number => sim.calls.get(m) ?? 0;
  const podLogDir = (p: V1Pod): string => join(logsRoot, `${p.metadata!.namespace}_${p.metadata!.name}_${p.metadata!.uid}`);

  // ---------------------------------------------------------------- reading

  describe('getPods', () => {
    it('groups sandboxes and containers by the pod UID label and ignores unlabelled ones', async () => {
      const a1 = ctr('a1');
      const a2 = ctr('a2');
      const b1 = ctr('b1');
      const a = makePod('a', [a1, a2]);
      const b = makePod('b', [b1]);
      assert.deepEqual((await sync(a)).failures, []);
      assert.deepEqual((await sync(b)).failures, []);
      // something another client created in the same runtime
      const foreign = await sim.runPodSandbox({ metadata: { name: 'x', namespace: 'other', uid: 'x-1', attempt: 0 }, labels: { app: 'x' } });
      const fc = await sim.createContainer(foreign, { metadata: { name: 'x', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '100'] }, { metadata: { name: 'x', namespace: 'other', uid: 'x-1', attempt: 0 } });
      await sim.startContainer(fc);

      const pods = (await mgr.getPods(true)).sort((x, y) => x.name.localeCompare(y.name));
      assert.deepEqual(
        pods.map((p) => [p.uid, p.name, p.namespace, p.sandboxes.length, p.containers.map((c) => c.name).sort()]),
        [
          ['uid-a', 'a', 'default', 1, ['a1', 'a2']],
          ['uid-b', 'b', 'default', 1, ['b1']],
        ],
      );
      const pa = pods[0]!;
      assert.equal(pa.sandboxes[0]!.state, 'ready');
      assert.equal(pa.sandboxes[0]!.attempt, 0);
      for (const c of pa.containers) {
        assert.equal(c.state, 'running');
        assert.equal(c.podSandboxId, pa.sandboxes[0]!.id);
        assert.equal(c.hash, hashContainer(c.name === 'a1' ? a1 : a2));
      }
    });

    it('all=false lists only ready sandboxes and running containers', async () => {
      const p = makePod('p', [ctr('keep'), ctr('quit', 'sleep 1; exit 0')]);
      await sync(p);
      await clock.advance(1000);
      const running = await mgr.getPods(false);
      assert.equal(running.length, 1);
      assert.deepEqual(running[0]!.containers.map((c) => c.name), ['keep']);
      const all = await mgr.getPods(true);
      assert.deepEqual(all[0]!.containers.map((c) => [c.name, c.state]).sort(), [['keep', 'running'], ['quit', 'exited']]);
      await sim.stopPodSandbox(all[0]!.sandboxes[0]!.id);
      assert.deepEqual(await mgr.getPods(false), []);
    });
  });

  describe('getPodStatus', () => {
    it('lists containers newest first with restartCount and hash from the annotations', async () => {
      const c = ctr('main', 'sleep 1; exit 3');
      const p = makePod('crash', [c]);
      await sync(p);
      await clock.advance(1500); // the first instance exits with 3
      const afterExit = await statusOf(p);
      assert.equal(afterExit.containerStatuses[0]!.state, 'exited');
      await mgr.syncPod(p, afterExit); // first restart: no backoff yet
      const st = await statusOf(p);
      assert.deepEqual(
        st.containerStatuses.map((s) => [s.name, s.restartCount, s.state, s.exitCode]),
        [
          ['main', 1, 'running', 0],
          ['main', 0, 'exited', 3],
        ],
      );
      const [newest, oldest] = st.containerStatuses;
      assert.ok(newest!.createdAt > oldest!.createdAt);
      assert.equal(newest!.hash, hashContainer(c));
      assert.equal(oldest!.reason, 'Error');
      assert.equal(oldest!.finishedAt - oldest!.startedAt, 1000, 'times in ms');
      assert.equal(newest!.logPath, join(podLogDir(p), 'main', '1.log'));
      assert.deepEqual([st.uid, st.name, st.namespace, st.timestamp], ['uid-crash', 'crash', 'default', clock.now()]);
    });

    it('takes the IPs from the newest sandbox, only while it is ready', async () => {
      const p = makePod('net', [ctr('main')]);
      await sync(p);
      const first = await statusOf(p);
      const firstIp = first.sandboxStatuses[0]!.ip;
      assert.match(firstIp, /^10\.88\./);
      assert.deepEqual(first.ips, [firstIp]);

      await sim.stopPodSandbox(first.sandboxStatuses[0]!.id);
      const dead = await statusOf(p);
      assert.equal(dead.sandboxStatuses[0]!.state, 'notready');
      assert.deepEqual(dead.ips, []);

      await clock.advance(1000);
      assert.deepEqual((await mgr.syncPod(p, dead)).failures, []);
      const second = await statusOf(p);
      assert.deepEqual(
        second.sandboxStatuses.map((s) => [s.attempt, s.state]),
        [
          [1, 'ready'],
          [0, 'notready'],
        ],
      );
      assert.notEqual(second.sandboxStatuses[0]!.ip, firstIp);
      assert.deepEqual(second.ips, [second.sandboxStatuses[0]!.ip]);
      assert.ok(second.sandboxStatuses[0]!.createdAt - second.sandboxStatuses[1]!.createdAt >= 1000, 'createdAt in ms');
    });

    it('no IPs when the newest sandbox is not ready, even if an older one is', async () => {
      const labels = { 'io.kubernetes.pod.uid': 'uid-two', 'io.kubernetes.pod.name': 'two', 'io.kubernetes.pod.namespace': 'default' };
      const older = await sim.runPodSandbox({ metadata: { name: 'two', namespace: 'default', uid: 'uid-two', attempt: 0 }, labels });
      await clock.advance(1000);
      const newer = await sim.runPodSandbox({ metadata: { name: 'two', namespace: 'default', uid: 'uid-two', attempt: 1 }, labels });
      await sim.stopPodSandbox(newer);
      const st = await mgr.getPodStatus('uid-two', 'two', 'default');
      assert.deepEqual(
        st.sandboxStatuses.map((s) => [s.id, s.state]),
        [
          [newer, 'notready'],
          [older, 'ready'],
        ],
      );
      assert.deepEqual(st.ips, []);
    });

    it('a pod the runtime does not know has an empty status', async () => {
      const st = await mgr.getPodStatus('nope', 'n', 'default');
      assert.deepEqual([st.sandboxStatuses, st.containerStatuses, st.ips], [[], [], []]);
    });
  });

  // ---------------------------------------------------------------- syncPod

  describe('syncPod', () => {
    it('creates the sandbox, then pulls nothing present, then creates and starts each container in order', async () => {
      const p = makePod('fresh', [ctr('first'), ctr('second')]);
      const result = await sync(p);
      assert.deepEqual(result.failures, []);
      assert.equal(calls('RunPodSandbox'), 1);
      assert.equal(calls('CreateContainer'), 2);
      assert.equal(calls('StartContainer'), 2);
      assert.equal(calls('PullImage'), 0);
      const lifecycle = order.filter((m) => ['runPodSandbox', 'createContainer', 'startContainer'].includes(m));
      assert.deepEqual(lifecycle, ['runPodSandbox', 'createContainer', 'startContainer', 'createContainer', 'startContainer']);
      const ctrs = await sim.listContainers();
      assert.deepEqual(ctrs.map((c) => [c.metadata.name, c.metadata.attempt, c.state]).sort(), [['first', 0, 'CONTAINER_RUNNING'], ['second', 0, 'CONTAINER_RUNNING']]);
      assert.ok(existsSync(join(podLogDir(p), 'first', '0.log')), 'log directory and file');
      assert.ok(existsSync(join(rootDir, 'pods', 'uid-fresh', 'etc-hosts')), 'managed /etc/hosts');
      const reasons = events.list({ uid: 'uid-fresh' }).map((e) => `${e.involvedObject.fieldPath ?? ''} ${e.reason}`);
      assert.ok(reasons.includes('spec.containers{first} Created') && reasons.includes('spec.containers{second} Started'), reasons.join(', '));
    });

    it('a second syncPod with the new status makes no change', async () => {
      const p = makePod('steady', [ctr('main')]);
      await sync(p);
      const before = new Map(sim.calls);
      const result = await sync(p);
      assert.deepEqual(result.failures, []);
      assert.equal(result.retryAt, undefined);
      for (const m of ['RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'PullImage']) {
        assert.equal(calls(m), before.get(m) ?? 0, `${m} called again`);
      }
    });

    it('takes the restart count from the log directory when the runtime lost the containers', async () => {
      const p = makePod('reboot', [ctr('main')]);
      mkdirSync(join(podLogDir(p), 'main'), { recursive: true });
      for (const f of ['1.log', '3.log', '2.log.20260101-000000.gz', 'notes.txt']) writeFileSync(join(podLogDir(p), 'main', f), '');
      assert.deepEqual((await sync(p)).failures, []);
      const [c] = await sim.listContainers();
      assert.equal(c!.metadata.attempt, 4);
      assert.equal(c!.annotations['io.kubernetes.container.restartCount'], '4');
      const st = await statusOf(p);
      assert.equal(st.containerStatuses[0]!.restartCount, 4);
      assert.equal(st.containerStatuses[0]!.logPath, join(podLogDir(p), 'main', '4.log'));
    });
  });

  // ---------------------------------------------------------------- images

  describe('image pulls through syncPod', () => {
    it('imagePullPolicy Never with a missing image: ErrImageNeverPull, no pull, no container', async () => {
      const p = makePod('never', [{ ...ctr('main'), image: 'localhost/absent:1', imagePullPolicy: 'Never' }]);
      const result = await sync(p);
      assert.equal(result.failures.length, 1);
      const f = result.failures[0]!;
      assert.deepEqual([f.action, f.target, f.reason], ['StartContainer', 'main', 'ErrImageNeverPull']);
      assert.match(f.message, /Container image "localhost\/absent:1" is not present with pull policy of Never/);
      assert.equal(mgr.reasons.get('uid-never').get('main')?.reason, 'ErrImageNeverPull');
      assert.equal(calls('PullImage'), 0);
      assert.equal(calls('CreateContainer'), 0);
      assert.equal(calls('RunPodSandbox'), 1, 'the sandbox is there for the next try');
      assert.ok(events.list({ uid: 'uid-never' }).some((e) => e.type === 'Warning' && e.reason === 'ErrImageNeverPull'));
    });

    it('a failing pull: ErrImagePull, then ImagePullBackOff until 10 s have passed, then a new pull; 20 s after the second failure', async () => {
      const p = makePod('pull', [{ ...ctr('main'), image: BROKEN }]);
      const t0 = clock.now();
      const r1 = await sync(p);
      assert.deepEqual(r1.failures.map((f) => f.reason), ['ErrImagePull']);
      assert.match(r1.failures[0]!.message, /Failed to pull image "127\.0\.0\.1:5000\/broken:1\.0": .*connection refused/);
      assert.equal(r1.retryAt, t0 + 10_000);
      assert.equal(mgr.reasons.get('uid-pull').get('main')?.reason, 'ErrImagePull');
      assert.equal(calls('PullImage'), 1);

      await clock.advance(9_999);
      const r2 = await sync(p);
      assert.deepEqual(r2.failures.map((f) => f.reason), ['ImagePullBackOff']);
      assert.match(r2.failures[0]!.message, /Back-off pulling image "127\.0\.0\.1:5000\/broken:1\.0"/);
      assert.equal(mgr.reasons.get('uid-pull').get('main')?.reason, 'ImagePullBackOff');
      assert.equal(calls('PullImage'), 1, 'no pull during the backoff');

      await clock.advance(1);
      const r3 = await sync(p);
      assert.deepEqual(r3.failures.map((f) => f.reason), ['ErrImagePull']);
      assert.equal(calls('PullImage'), 2);

      // the registry recovers, but the backoff has doubled to 20 s
      sim.addRegistryImage({ ref: BROKEN, defaultCommand: ['sh'] });
      await clock.advance(10_000);
      assert.deepEqual((await sync(p)).failures.map((f) => f.reason), ['ImagePullBackOff']);
      assert.equal(calls('PullImage'), 2);
      await clock.advance(10_000);
      const ok = await sync(p);
      assert.deepEqual(ok.failures, []);
      assert.equal(calls('PullImage'), 3);
      assert.equal(mgr.reasons.get('uid-pull').get('main'), undefined, 'the reason is cleared once the container starts');
      const [c] = await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-pull' } });
      assert.equal(c!.state, 'CONTAINER_RUNNING');
      assert.equal(calls('RunPodSandbox'), 1, 'one sandbox all along');
    });
  });

  // ---------------------------------------------------------------- killing and removing

  describe('killPod', () => {
    const cases: [string, { grace?: number; deletionGrace?: number }, number][] = [
      ['terminationGracePeriodSeconds 0 is raised to the 2 s minimum', { grace: 0 }, 2],
      ['terminationGracePeriodSeconds 5', { grace: 5 }, 5],
      ['deletionGracePeriodSeconds wins over terminationGracePeriodSeconds', { grace: 30, deletionGrace: 3 }, 3],
    ];
    for (const [name, grace, seconds] of cases) {
      it(`${name}: a container ignoring TERM is killed after ${seconds} s, then the sandbox stops`, async () => {
        const p = makePod('stubborn', [ctr('main', "trap '' TERM; sleep 100"), ctr('polite', "trap 'exit 143' TERM; sleep 100 & wait")], grace);
        await sync(p);
        const st = await statusOf(p);
        const [sandbox] = st.sandboxStatuses;
        const byName = new Map(st.containerStatuses.map((c) => [c.name, c.id]));
        const t0 = clock.now();
        const done = track(mgr.killPod(p, st));

        await clock.advance(seconds * 1000 - 1);
        assert.equal(done.settled, false, 'still waiting for the grace period');
        assert.equal((await sim.containerStatus(byName.get('main')!)).status.state, 'CONTAINER_RUNNING');
        const polite = (await sim.containerStatus(byName.get('polite')!)).status;
        assert.deepEqual([polite.state, polite.exitCode], ['CONTAINER_EXITED', 143], 'a container that handles TERM ends at once (in parallel)');
        assert.equal((await sim.podSandboxStatus(sandbox!.id)).status.state, 'SANDBOX_READY', 'the sandbox stops after its containers');

        await clock.advance(1);
        assert.equal(done.settled, true);
        assert.equal(done.error, undefined);
        assert.equal(clock.now() - t0, seconds * 1000);
        const main = (await sim.containerStatus(byName.get('main')!)).status;
        assert.deepEqual([main.state, main.exitCode], ['CONTAINER_EXITED', 137]);
        assert.equal((await sim.podSandboxStatus(sandbox!.id)).status.state, 'SANDBOX_NOTREADY');
        const killing = events.list({ uid: 'uid-stubborn' }).filter((e) => e.reason === 'Killing');
        assert.equal(killing.length, 2);
      });
    }

    it('without the pod, the grace period comes from the container annotations', async () => {
      const p = makePod('orphan', [ctr('main', "trap '' TERM; sleep 100")], { grace: 4 });
      await sync(p);
      const st = await statusOf(p);
      const done = track(mgr.killPod(undefined, st));
      await clock.advance(3_999);
      assert.equal(done.settled, false);
      await clock.advance(1);
      assert.equal(done.settled, true);
    });
  });

  describe('removePod', () => {
    it('removes the containers, the sandboxes, the pod log directory, the pod directory and the reasons', async () => {
      const p = makePod('gone', [ctr('main'), ctr('side')]);
      await sync(p);
      mgr.reasons.set('uid-gone', 'side', 'CrashLoopBackOff', 'x');
      const other = makePod('stays', [ctr('main')]);
      await sync(other);
      assert.ok(existsSync(podLogDir(p)));
      assert.ok(existsSync(join(rootDir, 'pods', 'uid-gone')));

      // sleep is PID 1 and ignores SIGTERM: the stop takes the grace period, on the fake clock
      const killed = track(mgr.killPod(p, await statusOf(p)));
      for (let i = 0; i < 100 && !killed.settled; i++) await clock.advance(1000);
      assert.equal(killed.settled, true, 'killPod finished within the grace period');
      await mgr.removePod('uid-gone', 'gone', 'default');

      assert.deepEqual(await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-gone' } }), []);
      assert.deepEqual(await sim.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-gone' } }), []);
      assert.equal(existsSync(podLogDir(p)), false);
      assert.equal(existsSync(join(rootDir, 'pods', 'uid-gone')), false);
      assert.equal(mgr.reasons.get('uid-gone').size, 0);
      // the other pod is untouched
      assert.equal((await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-stays' } })).length, 1);
      assert.ok(existsSync(podLogDir(other)));
      assert.ok(existsSync(join(rootDir, 'pods', 'uid-stays')));
    });
  });
});
