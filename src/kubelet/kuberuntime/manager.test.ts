// KubeRuntimeManager on the simulated runtime and a fake clock: reading pods back from the
// runtime's labels, syncPod's CRI calls, killPod's grace periods, removePod's cleanup, and the
// image puller's policies and backoff as syncPod reports them. Time only moves when the test says.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { CoreV1Api, type V1ConfigMap, type V1Container, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { hashContainer } from '../../api/hash.js';
import type { Runtime } from '../../runtime/index.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import type { RuntimePodStatus } from '../container/index.js';
import { LocalEventStore } from '../events/index.js';
import type { NodeContext } from './config.js';
import { KubeRuntimeManager, type KubeRuntimeManagerOptions, type PodSyncResult } from './manager.js';
import { track } from '../../util/testing.js';
import { ObjectNotFoundError } from '../../util/objectcache.js';
import { ConfigMapManager } from '../configmap/index.js';
import { pullSecretsGetter, SecretManager } from '../secret/index.js';
import { TokenManager } from '../token/index.js';
import { kubeApiAccessVolume, startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';

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

/** The manager as every test here builds it: pod directories under <dir>/root, pod logs under <dir>/logs; `opts` names the runtime, clock and recorder, and in cluster mode where API objects come from. */
function makeManager(dir: string, opts: Pick<KubeRuntimeManagerOptions, 'runtime' | 'clock' | 'recorder'> & Partial<KubeRuntimeManagerOptions>): KubeRuntimeManager {
  return new KubeRuntimeManager({ logger: new MemoryLogger(), node, rootDir: join(dir, 'root'), podLogsRoot: join(dir, 'logs'), runtimeName: 'sim', ...opts });
}

/** syncPod with the status the runtime reports now, as the pod worker does. */
async function syncNow(mgr: KubeRuntimeManager, p: V1Pod): Promise<PodSyncResult> {
  return mgr.syncPod(p, await mgr.getPodStatus(p.metadata!.uid!, p.metadata!.name!, p.metadata!.namespace!));
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
    mgr = makeManager(dir, { runtime: recording, clock, recorder: events });
  });

  afterEach(() => {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = (p: V1Pod): Promise<RuntimePodStatus> => mgr.getPodStatus(p.metadata!.uid!, p.metadata!.name!, p.metadata!.namespace!);
  const sync = (p: V1Pod): Promise<PodSyncResult> => syncNow(mgr, p);
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

// ---------------------------------------------------------------- cluster mode: API objects

const b64 = (v: string): string => Buffer.from(v).toString('base64');
const saPath = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A fake getter's answer for a name its map lacks: the object cache's not-found error, as the real managers throw it. */
function notFound(resource: string, namespace: string, name: string): never {
  throw new ObjectNotFoundError(resource, namespace, name);
}

/** Runs `sh -c script` in the pod's running container `name` and returns its stdout. */
async function execIn(sim: SimRuntime, uid: string, name: string, script: string): Promise<string> {
  const [c] = await sim.listContainers({ state: 'CONTAINER_RUNNING', labelSelector: { 'io.kubernetes.pod.uid': uid, 'io.kubernetes.container.name': name } });
  assert.ok(c, `container ${name} of ${uid} runs`);
  const r = await sim.execSync(c.id, ['sh', '-c', script], 10);
  return r.stdout.toString();
}

describe('KubeRuntimeManager with ConfigMaps, Secrets and tokens (fake managers)', () => {
  let dir: string;
  let clock: FakeClock;
  let sim: SimRuntime;
  let events: LocalEventStore;
  let mgr: KubeRuntimeManager;
  const configMaps = new Map<string, V1ConfigMap>();
  const secrets = new Map<string, V1Secret>();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-kuberuntime-api-'));
    clock = new FakeClock();
    sim = new SimRuntime({ clock, images: [{ ref: BUSYBOX, defaultCommand: ['sh'] }] });
    events = new LocalEventStore(clock, new MemoryLogger());
    configMaps.clear();
    secrets.clear();
    configMaps.set('app', { metadata: { name: 'app' }, data: { LEVEL: 'debug', 'not valid': 'x' } });
    configMaps.set('kube-root-ca.crt', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA PEM' } });
    secrets.set('db', { metadata: { name: 'db' }, data: { password: b64('hunter2') } });
    let n = 0;
    mgr = makeManager(dir, {
      runtime: sim,
      clock,
      recorder: events,
      configMaps: { getConfigMap: async (ns, name) => configMaps.get(name) ?? notFound('configmap', ns, name) },
      secrets: { getSecret: async (ns, name) => secrets.get(name) ?? notFound('secret', ns, name) },
      tokens: new TokenManager({
        clock,
        rand: () => 0,
        request: async (_ns, _sa, tr) => ({ spec: tr.spec, status: { token: `jwt-${++n}`, expirationTimestamp: new Date(clock.now() + 3600_000) } }),
      }),
    });
  });

  afterEach(() => {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sync = (p: V1Pod): Promise<PodSyncResult> => syncNow(mgr, p);

  it('env from a ConfigMap and a Secret reaches the container; invalid envFrom keys give InvalidEnvironmentVariableNames', async () => {
    const p = makePod('envy', [
      ctr('main', 'sleep 3600', {
        envFrom: [{ configMapRef: { name: 'app' }, prefix: 'APP_' }],
        env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
      }),
    ]);
    assert.deepEqual((await sync(p)).failures, []);
    assert.equal(await execIn(sim, 'uid-envy', 'main', 'echo "$APP_LEVEL/$PASSWORD"'), 'debug/hunter2\n');
    const ev = events.list({ uid: 'uid-envy' }).find((e) => e.reason === 'InvalidEnvironmentVariableNames');
    assert.equal(ev?.type, 'Warning');
    assert.equal(ev?.message, 'Keys [APP_not valid] from the EnvFrom configMap default/app were skipped since they are considered invalid environment variable names.');
  });

  it('a missing key: CreateContainerConfigError with upstream\'s message and the Failed event', async () => {
    const p = makePod('nokey', [ctr('main', 'sleep 3600', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'app', key: 'NOPE' } } }] })]);
    const r = await sync(p);
    assert.deepEqual(r.failures.map((f) => [f.reason, f.message]), [['CreateContainerConfigError', "couldn't find key NOPE in ConfigMap default/app"]]);
    assert.ok(events.list({ uid: 'uid-nokey' }).some((e) => e.reason === 'Failed' && e.message === "Error: couldn't find key NOPE in ConfigMap default/app"));
    // the object appears: the next sync starts the container
    configMaps.set('app', { metadata: { name: 'app' }, data: { NOPE: 'yes' } });
    assert.deepEqual((await sync(p)).failures, []);
    assert.equal(mgr.reasons.get('uid-nokey').get('main'), undefined);
  });

  it('a projected token volume is mounted read-only with its files; a failing one is FailedMount + CreateContainerConfigError', async () => {
    const vol = kubeApiAccessVolume('kube-api-access-abcde'); // as the API server's admission adds it
    const p = makePod('tok', [ctr('main', 'sleep 3600', { volumeMounts: [{ name: vol.name, mountPath: saPath, readOnly: true }] })]);
    p.spec!.volumes = [vol];
    assert.deepEqual((await sync(p)).failures, []);
    assert.equal(await execIn(sim, 'uid-tok', 'main', `cat ${saPath}/token; echo; cat ${saPath}/ca.crt; echo; cat ${saPath}/namespace`), 'jwt-1\nCA PEM\ndefault');
    const [c] = await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-tok' } });
    const m = (await sim.containerStatus(c!.id)).status.mounts.find((x) => x.containerPath === saPath);
    assert.equal(m?.readonly, true);
    assert.equal(m?.hostPath, join(dir, 'root', 'pods', 'uid-tok', 'volumes', 'kubernetes.io~projected', vol.name));
    // the lead's periodic refresh: nothing changed yet
    assert.deepEqual(await mgr.volumes.refresh(p), [{ volume: vol.name, changed: false }]);

    configMaps.delete('kube-root-ca.crt');
    const q = makePod('tok2', [ctr('main', 'sleep 3600', { volumeMounts: [{ name: vol.name, mountPath: saPath, readOnly: true }] })]);
    q.spec!.volumes = [vol];
    const r = await sync(q);
    const msg = `MountVolume.SetUp failed for volume "${vol.name}" : configmap "kube-root-ca.crt" not found`;
    assert.deepEqual(r.failures.map((f) => [f.reason, f.message]), [['CreateContainerConfigError', msg]]);
    const evs = events.list({ uid: 'uid-tok2' });
    assert.ok(evs.some((e) => e.reason === 'FailedMount' && e.type === 'Warning' && e.message === msg));
    assert.ok(!evs.some((e) => e.reason === 'Failed'), 'a mount failure is FailedMount only');
  });
});

describe('KubeRuntimeManager against the test API server, as the node (system:node:sim-node)', () => {
  let s: TestApiServer;
  let dir: string;
  let clock: FakeClock;
  let sim: SimRuntime;
  let events: LocalEventStore;
  let mgr: KubeRuntimeManager;
  let cms: ConfigMapManager;
  let secrets: SecretManager;
  let admin: CoreV1Api;
  const PRIVATE = '127.0.0.1:5000/private/app:1.0';

  before(async () => {
    s = await startTestApiServer();
    admin = s.kubeconfig().makeApiClient(CoreV1Api);
    await admin.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'app-config' }, data: { LEVEL: 'debug' } } });
    await admin.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'db' }, data: { password: b64('hunter2') } } });
    await admin.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'unrelated' }, data: { k: b64('v') } } });
  });

  after(() => s.close());

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-kuberuntime-apiserver-'));
    clock = new FakeClock(Date.now());
    sim = new SimRuntime({ clock, images: [{ ref: BUSYBOX, defaultCommand: ['sh'] }], registry: [{ ref: PRIVATE, defaultCommand: ['sh'], auth: { username: 'alice', password: 's3cret' } }] });
    events = new LocalEventStore(clock, new MemoryLogger());
    const kc = s.kubeconfig({ node: 'sim-node' });
    cms = new ConfigMapManager({ clock, kubeConfig: kc });
    secrets = new SecretManager({ clock, kubeConfig: kc });
    mgr = makeManager(dir, { runtime: sim, clock, recorder: events, configMaps: cms, secrets, tokens: new TokenManager({ clock, kubeConfig: kc }), imagePulls: { getPullSecrets: pullSecretsGetter(secrets) } });
  });

  afterEach(() => {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Creates the pod as a user would (admission adds kube-api-access) and returns it as the API has it, registered with the managers. */
  async function apiPod(body: V1Pod): Promise<V1Pod> {
    const p = await admin.createNamespacedPod({ namespace: 'default', body });
    cms.registerPod(p);
    secrets.registerPod(p);
    return p;
  }
  const sync = (p: V1Pod): Promise<PodSyncResult> => syncNow(mgr, p);

  it('a pod bound to the node: kube-api-access files (token, ca.crt, namespace) and env from a ConfigMap and a Secret', async () => {
    const seen = s.requests.length;
    const p = await apiPod({
      metadata: { name: 'web' },
      spec: {
        nodeName: 'sim-node',
        containers: [
          {
            name: 'main',
            image: BUSYBOX,
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'sleep 3600'],
            env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'LEVEL' } } }],
            envFrom: [{ secretRef: { name: 'db' }, prefix: 'DB_' }],
          },
        ],
      },
    });
    const vol = p.spec!.volumes!.find((v) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol, 'admission added the kube-api-access volume');
    assert.deepEqual((await sync(p)).failures, []);
    const uid = p.metadata!.uid!;
    assert.equal(await execIn(sim, uid, 'main', 'echo "$LEVEL $DB_password"'), 'debug hunter2\n');
    assert.equal(await execIn(sim, uid, 'main', `cat ${saPath}/namespace`), 'default');
    assert.equal(await execIn(sim, uid, 'main', `cat ${saPath}/ca.crt`), s.caPem);
    const token = await execIn(sim, uid, 'main', `cat ${saPath}/token`);
    const who = s.tokens.lookup(token, Date.now());
    assert.equal(who?.user.name, 'system:serviceaccount:default:default', 'a real token of the pod\'s service account');
    const d = join(dir, 'root', 'pods', uid, 'volumes', 'kubernetes.io~projected', vol.name);
    for (const f of ['token', 'ca.crt', 'namespace']) {
      assert.equal(readlinkSync(join(d, f)), `..data/${f}`);
      assert.equal(statSync(join(d, f)).mode & 0o777, 0o644);
    }
    // every read went out as the node
    const reads = s.requests.slice(seen).filter((r) => /\/(configmaps|secrets|serviceaccounts)\//.test(r.path));
    assert.ok(reads.length >= 4);
    assert.deepEqual([...new Set(reads.map((r) => r.user))], ['system:node:sim-node']);
    assert.ok(reads.some((r) => r.path.endsWith('/serviceaccounts/default/token') && r.code === 201));
  });

  it('a missing required ConfigMap: CreateContainerConfigError `configmap "nope" not found`', async () => {
    const p = await apiPod({
      metadata: { name: 'broken' },
      spec: { nodeName: 'sim-node', containers: [{ name: 'main', image: BUSYBOX, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'sleep 3600'], envFrom: [{ configMapRef: { name: 'nope' } }] }] },
    });
    const r = await sync(p);
    assert.deepEqual(r.failures.map((f) => [f.reason, f.message]), [['CreateContainerConfigError', 'configmap "nope" not found']]);
    assert.equal(mgr.reasons.get(p.metadata!.uid!).get('main')?.reason, 'CreateContainerConfigError');
  });

  it('image pull secrets are read as the node; a missing one gives FailedToRetrieveImagePullSecret', async () => {
    await admin.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'regcred' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { '127.0.0.1:5000': { auth: b64('alice:s3cret') } } })) } },
    });
    const p = await apiPod({
      metadata: { name: 'private' },
      spec: { nodeName: 'sim-node', automountServiceAccountToken: false, imagePullSecrets: [{ name: 'regcred' }, { name: 'gone' }], containers: [{ name: 'main', image: PRIVATE, command: ['sh', '-c', 'sleep 3600'] }] },
    });
    assert.deepEqual((await sync(p)).failures, []);
    const ev = events.list({ uid: p.metadata!.uid! }).find((e) => e.reason === 'FailedToRetrieveImagePullSecret');
    assert.equal(ev?.message, 'Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed.');
  });

  it('a secret no pod of this node references is forbidden by the Node authorizer (the node identity is what is used)', async () => {
    // a pod on another node references "unrelated": registering it here does not make the API let this node read it
    const p = await apiPod({
      metadata: { name: 'elsewhere' },
      spec: { nodeName: 'other-node', automountServiceAccountToken: false, containers: [{ name: 'main', image: BUSYBOX, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'sleep 3600'], env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'unrelated', key: 'k' } } }] }] },
    });
    await assert.rejects(secrets.getSecret('default', 'unrelated'), (e: unknown) => e instanceof Error && /forbidden/.test(e.message) && /system:node:sim-node/.test(e.message));
    const r = await sync(p);
    assert.equal(r.failures[0]?.reason, 'CreateContainerConfigError');
    assert.match(r.failures[0]!.message, /^secrets "unrelated" is forbidden: User "system:node:sim-node"/);
    // the same secret read as an admin exists: the refusal is the node's
    assert.equal((await admin.readNamespacedSecret({ name: 'unrelated', namespace: 'default' })).metadata?.name, 'unrelated');
  });
});
