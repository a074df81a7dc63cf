// The whole pod engine on the simulated runtime and a fake clock: static pods from a directory,
// the syncLoop, pod workers, PLEG, status. Time only moves when the test says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock } from '../util/clock.js';
import { MemoryLogger } from '../util/logger.js';
import { newRegistry } from '../util/metrics.js';
import { RuntimeError } from '../runtime/index.js';
import { SimRuntime } from '../runtime/sim/index.js';
import type { FetchFn } from './config/index.js';
import { Kubelet, type KubeletDeps, type KubeletSettings } from './kubelet.js';
import type { HostReaders } from './eviction/index.js';

const image = '127.0.0.1:5000/busybox:1.0';

function manifest(name: string, command: string, restartPolicy = 'Always', extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: sim }
spec:
  restartPolicy: ${restartPolicy}
  terminationGracePeriodSeconds: 2
${extra}  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", ${JSON.stringify(command)}]
`;
}

describe('kubelet on the simulated runtime', () => {
  let dir: string;
  let clock: FakeClock;
  let sim: SimRuntime;
  let logger: MemoryLogger;
  let kubelets: Kubelet[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-kubelet-'));
    clock = new FakeClock();
    logger = new MemoryLogger();
    sim = new SimRuntime({ clock, images: [{ ref: 'localhost/pause:3.9' }], registry: [{ ref: image, defaultCommand: ['sh'] }] });
    kubelets = [];
  });

  afterEach(async () => {
    for (const k of kubelets) await k.stop();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function newKubelet(extra: { staticPodURL?: string; fetch?: FetchFn; settings?: Partial<KubeletSettings>; deps?: Partial<KubeletDeps> } = {}): Kubelet {
    const k = new Kubelet(
      {
        nodeName: 'sim-node',
        rootDir: join(dir, 'root'),
        podLogsDir: join(dir, 'logs'),
        staticPodPath: join(dir, 'manifests'),
        staticPodURL: extra.staticPodURL ?? '',
        syncFrequencyMs: 60_000,
        fileCheckFrequencyMs: 20_000,
        httpCheckFrequencyMs: 20_000,
        node: { nodeName: 'sim-node', hostIP: '192.0.2.10', resolvConf: 'nameserver 192.0.2.53\n', clusterDNS: [], clusterDomain: 'cluster.local', memoryCapacity: 8 << 30, allocatableCpuMillis: 2000, allocatableMemory: 8 << 30 },
        runtimeName: 'sim',
        cgroupRoot: join(dir, 'cgroup'),
        ...extra.settings,
      },
      { runtime: sim, clock, logger, registry: newRegistry(), rand: () => 0, ...(extra.fetch ? { fetch: extra.fetch } : {}), statfs: async () => ({ capacityBytes: 100 << 30, availableBytes: 80 << 30, inodes: 1e6, inodesFree: 9e5 }), ...extra.deps },
    );
    kubelets.push(k);
    return k;
  }

  function write(file: string, text: string): void {
    writeFileSync(join(dir, 'manifests', file), text);
  }

  /** Lets simulated time pass in 100 ms steps. */
  async function run(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 100) await clock.advance(100);
  }

  function pod(k: Kubelet, name: string): { pod: V1Pod; status: V1Pod['status'] } | undefined {
    const p = k.getPods().find((x) => x.pod.metadata?.name === `${name}-sim-node`);
    return p ? { pod: p.pod, status: p.status } : undefined;
  }

  async function start(settings?: Partial<KubeletSettings>): Promise<Kubelet> {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'manifests'), { recursive: true });
    const k = newKubelet(settings ? { settings } : {});
    k.start();
    return k;
  }

  it('starts a static pod and reports it Running', async () => {
    const k = await start();
    write('a.yaml', manifest('a', 'exec sleep 3600'));
    await run(21_000); // the periodic rescan picks the file up at the latest
    const p = pod(k, 'a');
    assert.equal(p?.status?.phase, 'Running');
    assert.equal(p?.status?.containerStatuses?.[0]?.ready, true);
    const running = await sim.listContainers({ state: 'CONTAINER_RUNNING' });
    assert.equal(running.length, 1);
    assert.equal(running[0]!.labels['io.kubernetes.pod.name'], 'a-sim-node');
    assert.equal(p?.status?.containerStatuses?.[0]?.containerID, `sim://${running[0]!.id}`);
  });

  it('restarts a crashing container after 10 s, 20 s, 40 s of backoff', async () => {
    const k = await start({ containerGC: { maxPerPodContainer: -1 } }); // every attempt stays listed
    write('c.yaml', manifest('crash', 'exit 1'));
    await run(120_000);
    const attempts = (await sim.listContainers()).sort((a, b) => a.createdAt - b.createdAt);
    const statuses = await Promise.all(attempts.map(async (c) => (await sim.containerStatus(c.id)).status));
    const gaps = statuses.slice(1).map((s, i) => (s.createdAt - statuses[i]!.finishedAt) / 1e9);
    assert.ok(gaps.length >= 4, `attempts: ${statuses.length}`);
    // restart 1 at once, then 10 s, 20 s, 40 s: each within the relist+tick granularity
    const expected = [0, 10, 20, 40];
    expected.forEach((e, i) => assert.ok(gaps[i]! >= e && gaps[i]! <= e + 2.5, `gap ${i}: ${gaps[i]} s, want ~${e} s`));
    const cs = pod(k, 'crash')?.status?.containerStatuses?.[0];
    assert.ok((cs?.restartCount ?? 0) >= 4);
    assert.equal(cs?.state?.waiting?.reason ?? (cs?.state?.running ? 'running' : ''), cs?.state?.running ? 'running' : 'CrashLoopBackOff');
    assert.equal(cs?.lastState?.terminated?.exitCode, 1);
  });

  it('container GC keeps one dead container per container of a crash-looping pod (maxPerPodContainer 1)', async () => {
    const k = await start();
    write('c.yaml', manifest('crash', 'exit 1'));
    await run(125_000); // about 5 attempts, and two GC passes (1 m)
    const cs = pod(k, 'crash')?.status?.containerStatuses?.[0];
    assert.ok((cs?.restartCount ?? 0) >= 4, `restartCount ${cs?.restartCount}`);
    const left = await sim.listContainers();
    const dead = left.filter((c) => c.state !== 'CONTAINER_RUNNING');
    assert.ok(left.length <= 2 && dead.length <= 2, `containers left: ${left.map((c) => c.state).join(',')}`);
    assert.equal(cs?.lastState?.terminated?.exitCode, 1, 'the last dead container is kept for lastState');
  });

  it('disk-space admission: under DiskPressure a new pod is Failed (Evicted) and never runs; a running pod and a system-node-critical pod are untouched', async () => {
    const Gi = 1024 ** 3;
    let available = 50 * Gi; // of 100 Gi: no pressure
    const evictionReaders: HostReaders = {
      statfs: async () => ({ capacityBytes: 100 * Gi, availableBytes: available, inodes: 1e6, inodesFree: 9e5 }),
      deviceId: async () => 1,
      memory: async () => ({ capacityBytes: 8 * Gi, workingSetBytes: 1 * Gi }),
      pids: async () => ({ maxPid: 32768, running: 300 }),
    };
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'manifests'), { recursive: true });
    write('old.yaml', manifest('old', 'exec sleep 3600'));
    const withPressureWatch = { settings: { eviction: { evictionHard: { 'nodefs.available': '10%', 'imagefs.available': '15%' }, evictionPressureTransitionPeriod: '5m0s' } }, deps: { evictionReaders } };
    const k = newKubelet(withPressureWatch);
    k.start();
    await run(5_000);
    assert.equal(pod(k, 'old')?.status?.phase, 'Running');

    available = 10 * Gi; // imagefs (= nodefs here) below 15 %
    await run(11_000); // one eviction pass (10 s)
    write('new.yaml', manifest('new', 'exec sleep 3600'));
    write('crit.yaml', manifest('crit', 'exec sleep 3600').replace('spec:\n', 'spec:\n  priorityClassName: system-node-critical\n'));
    await run(21_000);
    const rejected = pod(k, 'new')?.status;
    assert.equal(rejected?.phase, 'Failed');
    assert.equal(rejected?.reason, 'Evicted');
    assert.equal(rejected?.message, 'Pod was rejected: The node had condition: [DiskPressure]. ');
    assert.ok(k.listEvents({ name: 'new-sim-node' }).some((e) => e.reason === 'Evicted' && e.type === 'Warning'));
    assert.equal(pod(k, 'old')?.status?.phase, 'Running', 'a running pod is untouched');
    assert.equal(pod(k, 'crit')?.status?.phase, 'Running', 'system-node-critical is admitted');
    const names = (await sim.listContainers()).map((c) => c.labels['io.kubernetes.pod.name']);
    assert.ok(!names.includes('new-sim-node'), 'the rejected pod never ran');
    assert.ok(k.listEvents().some((e) => e.reason === 'EvictionThresholdMet'));

    // still Failed after a nodelet restart, even once the pressure is gone
    await k.stop();
    available = 50 * Gi;
    const k2 = newKubelet(withPressureWatch);
    k2.start();
    await run(25_000);
    assert.equal(pod(k2, 'new')?.status?.phase, 'Failed');
    assert.equal(pod(k2, 'old')?.status?.phase, 'Running');
    assert.ok(!(await sim.listContainers()).some((c) => c.labels['io.kubernetes.pod.name'] === 'new-sim-node'));
  });

  it('ends Never pods Succeeded or Failed', async () => {
    const k = await start();
    write('ok.yaml', manifest('ok', 'sleep 2', 'Never'));
    write('bad.yaml', manifest('bad', 'exit 4', 'Never'));
    await run(30_000);
    assert.equal(pod(k, 'ok')?.status?.phase, 'Succeeded');
    const bad = pod(k, 'bad')?.status;
    assert.equal(bad?.phase, 'Failed');
    assert.equal(bad?.containerStatuses?.[0]?.state?.terminated?.exitCode, 4);
    assert.equal((await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.name': 'bad-sim-node' } })).length, 1, 'not restarted');
  });

  it('runs init containers in order before the app', async () => {
    const k = await start();
    write(
      'i.yaml',
      manifest('init', 'exec sleep 3600', 'Always', `  initContainers:
    - { name: one, image: "${image}", command: ["sh", "-c", "sleep 3"] }
    - { name: two, image: "${image}", command: ["sh", "-c", "sleep 3"] }
`),
    );
    await run(22_000);
    const st = pod(k, 'init')?.status;
    assert.equal(st?.phase, 'Running');
    const created = new Map<string, number>();
    for (const c of await sim.listContainers()) created.set(c.metadata.name, c.createdAt);
    assert.ok(created.get('one')! < created.get('two')! && created.get('two')! < created.get('main')!, 'one, then two, then main');
    assert.ok((created.get('main')! - created.get('one')!) / 1e9 >= 6, 'each init container ran to completion first');
  });

  it('stops and removes a pod whose manifest is deleted', async () => {
    const k = await start();
    write('d.yaml', manifest('del', 'exec sleep 3600'));
    await run(21_000);
    assert.equal(pod(k, 'del')?.status?.phase, 'Running');
    unlinkSync(join(dir, 'manifests', 'd.yaml'));
    await run(30_000);
    assert.equal(pod(k, 'del'), undefined);
    assert.equal((await sim.listContainers()).length, 0, 'containers removed');
    assert.equal((await sim.listPodSandbox()).length, 0, 'sandbox removed');
  });

  it('a restarted kubelet adopts running pods without starting anything twice', async () => {
    const k1 = await start();
    write('x.yaml', manifest('x', 'exec sleep 3600'));
    write('y.yaml', manifest('y', 'exec sleep 3600'));
    await run(21_000);
    const before = (await sim.listContainers()).map((c) => c.id).sort();
    assert.equal(before.length, 2);
    const startTime = pod(k1, 'x')?.status?.startTime;
    const readySince = pod(k1, 'x')?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    await k1.stop();
    const creates = sim.calls.get('CreateContainer') ?? 0;
    const sandboxes = sim.calls.get('RunPodSandbox') ?? 0;
    const k2 = newKubelet();
    k2.start();
    await run(30_000);
    assert.equal(sim.calls.get('CreateContainer') ?? 0, creates, 'no container created');
    assert.equal(sim.calls.get('RunPodSandbox') ?? 0, sandboxes, 'no sandbox created');
    assert.deepEqual((await sim.listContainers()).map((c) => c.id).sort(), before);
    assert.equal(pod(k2, 'x')?.status?.phase, 'Running');
    // the status checkpoint carries what the first nodelet said
    assert.equal(pod(k2, 'x')?.status?.startTime?.getTime(), startTime?.getTime(), 'startTime kept across the restart');
    assert.equal(pod(k2, 'x')?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime?.getTime(), readySince?.getTime(), 'Ready since the first start');
  });

  it('removes runtime pods that no source has (orphans of a previous run)', async () => {
    const k1 = await start();
    write('o.yaml', manifest('orphan', 'exec sleep 3600'));
    await run(21_000);
    await k1.stop();
    unlinkSync(join(dir, 'manifests', 'o.yaml'));
    const k2 = newKubelet();
    k2.start();
    await run(30_000);
    assert.equal((await sim.listContainers()).length, 0);
    assert.equal((await sim.listPodSandbox()).length, 0);
  });

  it('retries a failed sandbox creation with backoff while other pods run', async () => {
    const k = await start();
    sim.injectFault('RunPodSandbox', { error: () => new RuntimeError('Unknown', 'RunPodSandbox', 'failed to setup network for sandbox: CNI is down'), times: 1 });
    write('f.yaml', manifest('flaky', 'exec sleep 3600'));
    write('g.yaml', manifest('good', 'exec sleep 3600'));
    await run(45_000);
    const events = k.listEvents({ name: 'flaky-sim-node' });
    const failed = events.find((e) => e.reason === 'FailedCreatePodSandBox');
    const started = events.find((e) => e.reason === 'Started');
    assert.match(failed?.message ?? '', /CNI is down/);
    assert.ok(started, 'started after the retry');
    const waited = (started.firstTimestamp - failed!.firstTimestamp) / 1000;
    assert.ok(waited >= 10 && waited <= 17, `retried ${waited} s after the failure (backoff 10 s + jitter)`);
    assert.equal(pod(k, 'flaky')?.status?.phase, 'Running');
    assert.equal(pod(k, 'good')?.status?.phase, 'Running', 'the other pod was not held up');
  });

  it('reports a config error as CreateContainerConfigError without touching other pods', async () => {
    const k = await start();
    write('ok.yaml', manifest('fine', 'exec sleep 3600'));
    write(
      'nonroot.yaml',
      manifest('nonroot', 'exec sleep 3600').replace('    - name: main\n', '    - name: main\n      securityContext: { runAsNonRoot: true }\n'),
    );
    await run(22_000);
    const cs = pod(k, 'nonroot')?.status?.containerStatuses?.[0];
    assert.equal(cs?.state?.waiting?.reason, 'CreateContainerConfigError');
    assert.match(cs?.state?.waiting?.message ?? '', /runAsNonRoot and image will run as root/);
    assert.equal(pod(k, 'fine')?.status?.phase, 'Running');
  });

  it('runs pods from a manifest URL next to the directory, and drops them when the URL stops listing them', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'manifests'), { recursive: true });
    const list = (ids: number[]): string => `apiVersion: v1
kind: PodList
items:
${ids.map((i) => `  - apiVersion: v1
    kind: Pod
    metadata: { name: web${i}, namespace: sim }
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{ name: main, image: "${image}", command: ["sleep", "3600"] }]
`).join('')}`;
    let body = list([1, 2]);
    const fetchFn: FetchFn = async () => ({ status: 200, text: async () => body });
    const k = newKubelet({ staticPodURL: 'http://config.example/pods', fetch: fetchFn });
    k.start();
    write('local.yaml', manifest('local', 'exec sleep 3600'));
    await run(22_000);
    assert.deepEqual(k.getPods().map((p) => [p.pod.metadata?.name, p.pod.metadata?.annotations?.['kubernetes.io/config.source'], p.status?.phase]).sort(), [
      ['local-sim-node', 'file', 'Running'],
      ['web1-sim-node', 'http', 'Running'],
      ['web2-sim-node', 'http', 'Running'],
    ]);
    body = list([1]);
    await run(30_000);
    assert.deepEqual(k.getPods().map((p) => p.pod.metadata?.name).sort(), ['local-sim-node', 'web1-sim-node']);
    assert.equal((await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.name': 'web2-sim-node' } })).length, 0, 'web2 removed');
  });

  it('leaves runtime pods of other nodes alone (nodelets sharing one runtime)', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'manifests'), { recursive: true });
    const other = new Kubelet(
      { ...newKubelet().settings, nodeName: 'other-node', node: { ...newKubelet().settings.node, nodeName: 'other-node' }, staticPodPath: join(dir, 'other-manifests'), rootDir: join(dir, 'other-root') },
      { runtime: sim, clock, logger, registry: newRegistry(), rand: () => 0 },
    );
    kubelets.push(other);
    mkdirSync(join(dir, 'other-manifests'), { recursive: true });
    writeFileSync(join(dir, 'other-manifests', 'o.yaml'), manifest('theirs', 'exec sleep 3600'));
    other.start();
    await run(21_000);
    assert.equal((await sim.listContainers({ state: 'CONTAINER_RUNNING' })).length, 1);
    const mine = newKubelet();
    mine.start();
    write('m.yaml', manifest('mine', 'exec sleep 3600'));
    await run(30_000);
    const names = (await sim.listContainers({ state: 'CONTAINER_RUNNING' })).map((c) => c.labels['io.kubernetes.pod.name']).sort();
    assert.deepEqual(names, ['mine-sim-node', 'theirs-other-node']);
  });

  it('runs postStart after the start; a failing postStart kills the container (FailedPostStartHook) and it restarts', async () => {
    const k = await start();
    write(
      'hooks.yaml',
      manifest('hooks', 'exec sleep 3600').replace(
        '      command:',
        '      lifecycle: { postStart: { exec: { command: ["sh", "-c", "touch /tmp/started"] } } }\n      command:',
      ),
    );
    write('badhook.yaml', manifest('badhook', 'exec sleep 3600').replace('      command:', '      lifecycle: { postStart: { exec: { command: ["sh", "-c", "exit 3"] } } }\n      command:'));
    await run(22_000);
    const [c] = await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.name': 'hooks-sim-node' }, state: 'CONTAINER_RUNNING' });
    assert.equal((await sim.execSync(c!.id, ['test', '-f', '/tmp/started'], 1)).exitCode, 0, 'the postStart hook ran in the container');
    assert.equal(pod(k, 'hooks')?.status?.phase, 'Running');
    const ev = k.listEvents({ name: 'badhook-sim-node' });
    assert.ok(ev.some((e) => e.reason === 'FailedPostStartHook' && /exited with 3/.test(e.message)), ev.map((e) => e.reason).join(','));
    const cs = pod(k, 'badhook')?.status?.containerStatuses?.[0];
    assert.ok((cs?.restartCount ?? 0) >= 1, 'restarted after the failed hook');
    assert.equal(cs?.ready, false);
  });

  it('runs preStop within the grace period and gives what is left to the stop', async () => {
    const k = await start();
    // the container ignores SIGTERM (PID 1): it stops when the grace period is over
    write(
      'pre.yaml',
      manifest('pre', 'exec sleep 3600')
        .replace('terminationGracePeriodSeconds: 2', 'terminationGracePeriodSeconds: 10')
        .replace('      command:', '      lifecycle: { preStop: { sleep: { seconds: 3 } } }\n      command:'),
    );
    await run(21_000);
    const [c] = await sim.listContainers({ labelSelector: { 'io.kubernetes.pod.name': 'pre-sim-node' } });
    assert.equal(c?.state, 'CONTAINER_RUNNING');
    const t0 = clock.now();
    unlinkSync(join(dir, 'manifests', 'pre.yaml'));
    await run(25_000);
    const killing = k.listEvents({ name: 'pre-sim-node' }).find((e) => e.reason === 'Killing')!;
    assert.ok(killing, 'Killing event');
    const logs = logger.records.filter((r) => r.msg === 'killing container' && r.fields['container'] === 'main');
    assert.equal(logs.at(-1)?.fields['gracePeriod'], 7, '10 s grace minus the 3 s preStop');
    assert.ok(killing.firstTimestamp - t0 < 25_000);
    assert.equal((await sim.listContainers()).length, 0, 'stopped and removed');
  });

  it('fills the terminated message from the termination-message file, or from the log with FallbackToLogsOnError', async () => {
    const k = await start();
    write('msg.yaml', manifest('msg', 'echo "all done" > /dev/termination-log; exit 0', 'Never'));
    write(
      'fallback.yaml',
      manifest('fallback', 'echo first; echo it broke; exit 2', 'Never').replace('      command:', '      terminationMessagePolicy: FallbackToLogsOnError\n      command:'),
    );
    await run(22_000);
    assert.equal(pod(k, 'msg')?.status?.containerStatuses?.[0]?.state?.terminated?.message, 'all done\n');
    assert.equal(pod(k, 'fallback')?.status?.containerStatuses?.[0]?.state?.terminated?.message, 'first\nit broke\n');
  });

  it('follows a readiness probe: Ready turns True when it passes and False when it fails', async () => {
    const k = await start();
    write(
      'ready.yaml',
      manifest('ready', 'sleep 5; touch /tmp/ready; sleep 30; rm /tmp/ready; exec sleep 600').replace(
        '      command:',
        '      readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 }\n      command:',
      ),
    );
    const ready = (): string | undefined => pod(k, 'ready')?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    await run(3_000);
    // the file source may only pick the manifest up at its 20 s rescan: wait until the pod runs
    for (let i = 0; i < 30 && pod(k, 'ready')?.status?.phase !== 'Running'; i++) await run(1_000);
    assert.equal(ready(), 'False', 'not ready before the probe passes');
    await run(8_000);
    assert.equal(ready(), 'True', 'ready once the file exists');
    assert.equal(pod(k, 'ready')?.status?.containerStatuses?.[0]?.ready, true);
    await run(32_000);
    assert.equal(ready(), 'False', 'not ready after the file is gone (failureThreshold 3)');
    assert.equal(pod(k, 'ready')?.status?.containerStatuses?.[0]?.restartCount, 0, 'readiness never restarts');
  });

  it('restarts a container whose liveness probe fails, with the kubelet reason and message', async () => {
    const k = await start();
    write(
      'live.yaml',
      manifest('live', 'touch /tmp/alive; sleep 10; rm /tmp/alive; exec sleep 600').replace(
        '      command:',
        '      livenessProbe: { exec: { command: ["cat", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 3 }\n      command:',
      ),
    );
    for (let i = 0; i < 60 && !(pod(k, 'live')?.status?.containerStatuses?.[0]?.restartCount ?? 0); i++) await run(1_000);
    const cs = pod(k, 'live')?.status?.containerStatuses?.[0];
    assert.equal(cs?.restartCount, 1);
    assert.ok(cs?.lastState?.terminated, 'the killed instance is the last state');
    const events = k.listEvents({ name: 'live-sim-node' });
    assert.ok(events.some((e) => e.reason === 'Unhealthy' && /Liveness probe failed/.test(e.message)), events.map((e) => `${e.reason}: ${e.message}`).join('\n'));
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'Container main failed liveness probe, will be restarted'));
  });
});
