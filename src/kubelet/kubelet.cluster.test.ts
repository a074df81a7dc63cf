// The kubelet in cluster mode on the simulated runtime, against the project's test API server:
// the node registers and turns Ready, renews its Lease, runs a pod bound to it and patches the
// pod's status, and gives its static pod a mirror pod. The API calls are real HTTP, so the fake
// clock is advanced in small steps with a short real pause between them.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { SimRuntime } from '../runtime/sim/index.js';
import { FakeClock } from '../util/clock.js';
import { MemoryLogger } from '../util/logger.js';
import { newRegistry } from '../util/metrics.js';
import { startTestApiServer, type TestApiServer } from '../../test/apiserver/index.js';
import { Kubelet } from './kubelet.js';

const image = '127.0.0.1:5000/busybox:1.0';

describe('kubelet in cluster mode (simulated runtime, test API server)', () => {
  let s: TestApiServer;
  let dir: string;
  let clock: FakeClock;
  let sim: SimRuntime;
  let k: Kubelet;
  const dir_ = (): string => dir;

  before(async () => {
    s = await startTestApiServer();
    dir = mkdtempSync(join(tmpdir(), 'nodelet-cluster-'));
    mkdirSync(join(dir, 'manifests'), { recursive: true });
    clock = new FakeClock(Date.now());
    sim = new SimRuntime({ clock, images: [{ ref: 'localhost/pause:3.9' }], registry: [{ ref: image, defaultCommand: ['sh'] }] });
    k = new Kubelet(
      {
        nodeName: 'sim-node',
        rootDir: join(dir, 'root'),
        podLogsDir: join(dir, 'logs'),
        staticPodPath: join(dir, 'manifests'),
        staticPodURL: '',
        syncFrequencyMs: 60_000,
        fileCheckFrequencyMs: 20_000,
        httpCheckFrequencyMs: 20_000,
        node: { nodeName: 'sim-node', hostIP: '192.0.2.10', resolvConf: 'nameserver 192.0.2.53\n', clusterDNS: [], clusterDomain: 'cluster.local', memoryCapacity: 8 << 30, allocatableCpuMillis: 2000, allocatableMemory: 8 << 30 },
        runtimeName: 'sim',
        cgroupRoot: join(dir, 'cgroup'),
        cluster: { kubeConfig: s.kubeconfig({ node: 'sim-node' }), node: { nodeName: 'sim-node', hostname: 'sim-node', nodeIP: '192.0.2.10', maxPods: 110, kubeletVersion: 'v1.30.0', kubeletPort: 10250, nodeLabels: { 'example.com/pool': 'a' } } },
      },
      { runtime: sim, clock, logger: new MemoryLogger(), registry: newRegistry(), rand: () => 0, statfs: async () => ({ capacityBytes: 100 << 30, availableBytes: 80 << 30, inodes: 1e6, inodesFree: 9e5 }) },
    );
    k.start();
  });

  after(async () => {
    await k.stop();
    sim.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Advances the fake clock in 100 ms steps (real I/O gets 5 ms each) until check() holds. */
  async function until<T>(what: string, check: () => T | undefined | false, maxMs = 60_000): Promise<T> {
    for (let t = 0; t <= maxMs; t += 100) {
      const v = check();
      if (v) return v;
      await clock.advance(100);
      await pause(5); // real time for the HTTP round trips (the only real wait: the API is real I/O)
    }
    throw new Error(`timed out (simulated ${maxMs} ms) waiting for ${what}`);
  }

  it('registers its Node, turns Ready and renews its Lease', async () => {
    const node = await until('a Ready node', () => {
      const n = s.get('nodes', '', 'sim-node') as { metadata: { labels: Record<string, string> }; status?: { conditions?: { type: string; status: string; reason: string }[] } } | undefined;
      return n?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    });
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'sim-node');
    assert.equal(node.metadata.labels['example.com/pool'], 'a');
    assert.equal(node.status!.conditions!.find((c) => c.type === 'Ready')!.reason, 'KubeletReady');
    const lease = await until('the Lease', () => s.get('leases', 'kube-node-lease', 'sim-node') as { spec: { renewTime: string; holderIdentity: string } } | undefined);
    assert.equal(lease.spec.holderIdentity, 'sim-node');
    const first = lease.spec.renewTime;
    await until('a renewal', () => (s.get('leases', 'kube-node-lease', 'sim-node') as { spec: { renewTime: string } }).spec.renewTime !== first);
  });

  it('runs a pod bound to it and patches its status Running in the API', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    await api.createNamespacedPod({
      namespace: 'default',
      // no service-account token volume (the projected kube-api-access volume comes next)
      body: { metadata: { name: 'web' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }] } },
    });
    const pod = await until('web Running in the API', () => {
      const p = s.get('pods', 'default', 'web') as V1Pod | undefined;
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
    assert.equal(pod.status?.hostIP, '192.0.2.10');
    const running = await sim.listContainers({ state: 'CONTAINER_RUNNING' });
    assert.ok(running.some((c) => c.labels['io.kubernetes.pod.name'] === 'web'), 'the container runs in the runtime');
    // the pod's events are in the API, from the kubelet on this node
    const events = await until('the Started event in the API', () => {
      const ev = (s.list('events', 'default') as { involvedObject: { name: string; uid: string; fieldPath?: string }; reason: string; source: { component: string; host: string } }[]).filter((e) => e.involvedObject.name === 'web');
      return ev.some((e) => e.reason === 'Started') ? ev : undefined;
    });
    assert.deepEqual(['Pulling', 'Pulled', 'Created', 'Started'].filter((r) => events.some((e) => e.reason === r)), ['Pulling', 'Pulled', 'Created', 'Started']);
    const started = events.find((e) => e.reason === 'Started')!;
    assert.equal(started.involvedObject.uid, pod.metadata?.uid);
    assert.equal(started.involvedObject.fieldPath, 'spec.containers{main}');
    assert.deepEqual(started.source, { component: 'kubelet', host: 'sim-node' });
  });

  it('deletes a pod gracefully: containers stopped within the grace period, then the final delete (grace 0, uid precondition)', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    const requestsBefore = s.requests.length;
    await api.deleteNamespacedPod({ name: 'web', namespace: 'default', body: { gracePeriodSeconds: 5 } });
    const marked = s.get('pods', 'default', 'web') as V1Pod;
    assert.ok(marked.metadata?.deletionTimestamp, 'the API marks the pod for deletion');
    const t0 = clock.now();
    const isRunning = async () => (await sim.listContainers({ state: 'CONTAINER_RUNNING' })).some((c) => c.labels['io.kubernetes.pod.name'] === 'web');
    let stopped = false;
    await until('the container stopped', () => {
      void isRunning().then((r) => (stopped = !r));
      return stopped;
    });
    const took = clock.now() - t0;
    // sleep as PID 1 ignores SIGTERM: SIGKILL comes when the delete's 5 s are up (the pod's own 2 s do not apply)
    assert.ok(took >= 5000 && took < 6500, `stopped after ${took} ms (simulated)`);
    await until('the pod gone from the API', () => s.get('pods', 'default', 'web') === undefined);
    const running = await sim.listContainers({ state: 'CONTAINER_RUNNING' });
    assert.ok(!running.some((c) => c.labels['io.kubernetes.pod.name'] === 'web'), 'no container of web runs');
    const finalDelete = s.requests.slice(requestsBefore).filter((r) => r.method === 'DELETE' && r.path.endsWith('/pods/web'));
    assert.ok(finalDelete.some((r) => r.user === 'system:node:sim-node' && r.code === 200), `the node made the final delete: ${JSON.stringify(finalDelete)}`);
  });

  it('rides out the API being down for 60 s: no pod killed, the status caught up, the Lease renewed again', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'batch' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, restartPolicy: 'Never', containers: [{ name: 'main', image, command: ['sh', '-c', 'sleep 30; exit 0'] }] } },
    });
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'server' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }] } },
    });
    await until('both Running in the API', () => ['batch', 'server'].every((n) => (s.get('pods', 'default', n) as V1Pod | undefined)?.status?.phase === 'Running'));
    const serverID = (s.get('pods', 'default', 'server') as V1Pod).status!.containerStatuses![0]!.containerID;
    const renewedBefore = (s.get('leases', 'kube-node-lease', 'sim-node') as { spec: { renewTime: string } }).spec.renewTime;
    await s.faults.down(3600_000);
    const t0 = clock.now();
    // batch finishes while the API is away; nothing of that reaches the API yet
    await until('60 s without the API', () => clock.now() - t0 >= 60_000, 70_000);
    assert.equal((s.get('pods', 'default', 'batch') as V1Pod).status?.phase, 'Running', 'the API could not hear of it');
    s.faults.clear();
    await until('batch Succeeded in the API', () => (s.get('pods', 'default', 'batch') as V1Pod).status?.phase === 'Succeeded');
    const server = s.get('pods', 'default', 'server') as V1Pod;
    assert.equal(server.status?.phase, 'Running');
    assert.equal(server.status?.containerStatuses?.[0]?.containerID, serverID, 'the same container: nothing was killed or restarted');
    assert.equal(server.status?.containerStatuses?.[0]?.restartCount, 0);
    await until('the Lease renewed again', () => (s.get('leases', 'kube-node-lease', 'sim-node') as { spec: { renewTime: string } }).spec.renewTime !== renewedBefore);
  });

  it('relists after a broken watch and a 410: new pods start once, nothing starts twice', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    const createsBefore = sim.calls.get('CreateContainer') ?? 0;
    const sandboxesBefore = sim.calls.get('RunPodSandbox') ?? 0;
    s.faults.closeWatches();
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'after-break' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }] } },
    });
    await until('after-break Running', () => (s.get('pods', 'default', 'after-break') as V1Pod | undefined)?.status?.phase === 'Running');
    // the history the watch would resume from is compacted away: the next watch gets 410 Gone
    s.store.compact();
    s.faults.closeWatches();
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'after-410' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }] } },
    });
    await until('after-410 Running', () => (s.get('pods', 'default', 'after-410') as V1Pod | undefined)?.status?.phase === 'Running');
    await until('a few more seconds', () => false, 5_000).catch(() => undefined);
    assert.equal((sim.calls.get('RunPodSandbox') ?? 0) - sandboxesBefore, 2, 'one sandbox per new pod');
    assert.equal((sim.calls.get('CreateContainer') ?? 0) - createsBefore, 2, 'one container per new pod, none again for the pods already running');
    assert.equal((s.get('pods', 'default', 'server') as V1Pod).status?.containerStatuses?.[0]?.restartCount, 0);
  });

  it('gets its status through a storm of 409 conflicts', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'conflicted' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }] } },
    });
    const before = s.requests.length;
    s.faults.conflictStorm(5); // the node's next five writes (status patches, lease, node status) get 409
    await until('conflicted Running in the API', () => (s.get('pods', 'default', 'conflicted') as V1Pod | undefined)?.status?.phase === 'Running');
    const conflicts = s.requests.slice(before).filter((r) => r.code === 409 && r.user === 'system:node:sim-node');
    assert.equal(conflicts.length, 5, 'the node met the conflicts and retried');
  });

  it('rejects pods the node cannot take: Failed with the kubelet\'s reason and message, never started', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    const container = (extra: object = {}) => ({ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'], ...extra });
    const base = { nodeName: 'sim-node', automountServiceAccountToken: false };
    await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'too-big' }, spec: { ...base, containers: [container({ resources: { requests: { cpu: '1000' } } })] } } });
    await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'wrong-pool' }, spec: { ...base, nodeSelector: { 'example.com/pool': 'b' }, containers: [container()] } } });
    await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'port-a' }, spec: { ...base, containers: [container({ ports: [{ containerPort: 80, hostPort: 8080 }] })] } } });
    await until('port-a Running', () => (s.get('pods', 'default', 'port-a') as V1Pod | undefined)?.status?.phase === 'Running');
    await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'port-b' }, spec: { ...base, containers: [container({ ports: [{ containerPort: 80, hostPort: 8080 }] })] } } });
    const failed = (name: string) => {
      const p = s.get('pods', 'default', name) as V1Pod | undefined;
      return p?.status?.phase === 'Failed' ? p.status : undefined;
    };
    const tooBig = await until('too-big Failed', () => failed('too-big'));
    assert.equal(tooBig.reason, 'OutOfcpu');
    assert.match(tooBig.message ?? '', /^Pod was rejected: Node didn't have enough resource: cpu, requested: 1000000, used: \d+, capacity: \d+$/);
    const wrongPool = await until('wrong-pool Failed', () => failed('wrong-pool'));
    assert.equal(wrongPool.reason, 'NodeAffinity');
    assert.equal(wrongPool.message, 'Pod was rejected: Predicate NodeAffinity failed');
    const portB = await until('port-b Failed', () => failed('port-b'));
    assert.equal(portB.reason, 'NodePorts');
    const started = (await sim.listContainers({})).map((c) => c.labels['io.kubernetes.pod.name']);
    for (const name of ['too-big', 'wrong-pool', 'port-b']) assert.ok(!started.includes(name), `${name} never ran`);
    assert.equal((s.get('pods', 'default', 'port-a') as V1Pod).status?.phase, 'Running', 'the pod holding the port runs on');
  });

  it('rejects a pod that does not tolerate the node\'s NoExecute taint, runs one that does', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    const node = s.get('nodes', '', 'sim-node') as { spec?: { taints?: object[] } };
    s.put('nodes', { ...node, spec: { ...node.spec, taints: [{ key: 'example.com/maintenance', value: 'true', effect: 'NoExecute' }] } } as never);
    await until('the kubelet to see the taint', () => k.nodeStatus?.node()?.spec?.taints?.some((t) => t.key === 'example.com/maintenance'), 30_000);
    const container = { name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] };
    await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'intolerant' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, containers: [container] } } });
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'tolerant' }, spec: { nodeName: 'sim-node', automountServiceAccountToken: false, tolerations: [{ key: 'example.com/maintenance', operator: 'Exists', effect: 'NoExecute' }], containers: [container] } },
    });
    const st = await until('intolerant Failed', () => {
      const p = s.get('pods', 'default', 'intolerant') as V1Pod | undefined;
      return p?.status?.phase === 'Failed' ? p.status : undefined;
    });
    assert.equal(st.reason, 'TaintToleration');
    assert.equal(st.message, 'Pod was rejected: Predicate TaintToleration failed');
    await until('tolerant Running', () => (s.get('pods', 'default', 'tolerant') as V1Pod | undefined)?.status?.phase === 'Running');
    const now = s.get('nodes', '', 'sim-node') as { spec?: { taints?: object[] } };
    s.put('nodes', { ...now, spec: { ...now.spec, taints: [] } } as never);
    await until('the kubelet to see the taint gone', () => !k.nodeStatus?.node()?.spec?.taints?.length, 30_000);
  });

  it('runs a pod as a real cluster makes it: the kube-api-access volume written and mounted, env from a ConfigMap and a Secret', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'settings' }, data: { mode: 'fast', 'bad-key!': 'x' } } });
    await api.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'creds' }, data: { password: Buffer.from('s3cret').toString('base64') } } });
    await api.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'app' },
        spec: {
          nodeName: 'sim-node',
          containers: [{
            name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'],
            envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }, { name: 'OPTIONAL', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } }],
          }],
        },
      },
    });
    const pod = await until('app Running', () => {
      const p = s.get('pods', 'default', 'app') as V1Pod | undefined;
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    const volume = pod.spec!.volumes!.find((v) => v.name.startsWith('kube-api-access-'))!;
    assert.ok(volume, 'the API server added the service-account volume');
    const dir = join(dir_(), 'root', 'pods', pod.metadata!.uid!, 'volumes', 'kubernetes.io~projected', volume.name);
    assert.equal(readFileSync(join(dir, 'namespace'), 'utf8'), 'default');
    assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), s.caPem);
    assert.ok(readFileSync(join(dir, 'token'), 'utf8').length > 20, 'a token from TokenRequest');
    assert.ok(lstatSync(join(dir, '..data')).isSymbolicLink(), 'the ..data symlink of the atomic writer');
    const c = (await sim.listContainers({})).find((x) => x.labels['io.kubernetes.pod.name'] === 'app')!;
    const st = await sim.containerStatus(c.id);
    const mount = st.status.mounts.find((m) => m.containerPath === '/var/run/secrets/kubernetes.io/serviceaccount');
    assert.ok(mount?.readonly, 'mounted read-only where clients look for it');
    const out = await sim.execSync(c.id, ['sh', '-c', 'echo "$CFG_mode/$PASSWORD/[$OPTIONAL]"'], 5);
    assert.equal(out.stdout.toString().trim(), 'fast/s3cret/[]', 'the env the container got');
    const warned = s.list('events', 'default').find((e) => (e as { reason?: string }).reason === 'InvalidEnvironmentVariableNames') as { message?: string } | undefined;
    assert.match(warned?.message ?? '', /Keys \[CFG_bad-key!\] from the EnvFrom configMap default\/settings were skipped since they are considered invalid environment variable names\./);
  });

  it('fails a container whose required ConfigMap is missing with CreateContainerConfigError, as the kubelet says it', async () => {
    const api = s.kubeconfig().makeApiClient(CoreV1Api);
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'needs-config' }, spec: { nodeName: 'sim-node', containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }] } },
    });
    const waiting = await until('needs-config waiting with the reason', () => {
      const w = (s.get('pods', 'default', 'needs-config') as V1Pod | undefined)?.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'CreateContainerConfigError' ? w : undefined;
    });
    assert.equal(waiting.message, 'configmap "nope" not found');
  });

  it('gives a static pod a mirror pod in the API, with its status', async () => {
    writeFileSync(join(dir, 'manifests', 'static.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: { name: st, namespace: default }\nspec:\n  containers:\n    - name: main\n      image: ${image}\n      command: ["sh", "-c", "exec sleep 3600"]\n`);
    const mirror = await until('the mirror pod Running', () => {
      const p = s.get('pods', 'default', 'st-sim-node') as V1Pod | undefined;
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    assert.ok(mirror.metadata?.annotations?.['kubernetes.io/config.mirror']);
    assert.equal(mirror.metadata?.ownerReferences?.[0]?.kind, 'Node');
    // someone deletes the mirror pod: the static pod runs on and its mirror pod comes back
    await s.kubeconfig().makeApiClient(CoreV1Api).deleteNamespacedPod({ name: 'st-sim-node', namespace: 'default', body: { gracePeriodSeconds: 0 } });
    const again = await until('the mirror pod recreated', () => {
      const p = s.get('pods', 'default', 'st-sim-node') as V1Pod | undefined;
      return p && p.metadata?.uid !== mirror.metadata?.uid ? p : undefined;
    });
    assert.equal(again.metadata?.annotations?.['kubernetes.io/config.mirror'], mirror.metadata?.annotations?.['kubernetes.io/config.mirror']);
    const running = (await sim.listContainers({ state: 'CONTAINER_RUNNING' })).filter((c) => c.labels['io.kubernetes.pod.name'] === 'st-sim-node');
    assert.equal(running.length, 1, 'the static pod itself was not touched');
  });
});
