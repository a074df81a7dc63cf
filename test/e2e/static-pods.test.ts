// Static pods end to end: `nodelet run` against real containerd, driven through manifest files,
// observed through CRI (what really runs) and nodelet's /pods (what it reports).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { CriClient } from '../../src/runtime/cri/index.js';
import type { Container } from '../../src/runtime/index.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { eventually, removePodsInNamespace } from './helpers.js';
import { NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'e2e';

function manifest(name: string, opts: { command: string; restartPolicy?: string; extra?: string } = { command: 'exec sleep 3600' }): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  restartPolicy: ${opts.restartPolicy ?? 'Always'}
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", ${JSON.stringify(opts.command)}]
${opts.extra ?? ''}`;
}

if (!env.available) {
  test('static pods against containerd', { skip: env.reason }, () => {});
} else {
  describe('static pods against containerd', { concurrency: false, timeout: 600_000 }, () => {
    let rt: CriClient;
    let n: NodeletProcess;
    const podName = (name: string): string => `${name}-${n.nodeName}`;
    const containersOf = async (name: string): Promise<Container[]> =>
      rt.listContainers({ labelSelector: { 'io.kubernetes.pod.name': podName(name), 'io.kubernetes.pod.namespace': ns } });
    const runningOf = async (name: string): Promise<Container[]> => (await containersOf(name)).filter((c) => c.state === 'CONTAINER_RUNNING');
    const sandboxesOf = async (name: string) => rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.name': podName(name), 'io.kubernetes.pod.namespace': ns } });

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir });
      await n.start();
    });

    after(async () => {
      await n.stop();
      await removePodsInNamespace(rt, ns);
      rt.close();
      n.cleanup();
    });

    it('starts a static pod and reports it Running', async () => {
      n.writeManifest('sleeper.yaml', manifest('sleeper', { command: 'echo hello from $(POD_NAME); exec sleep 3600', extra: '      env: [{ name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }]\n' }));
      const [c] = await eventually(async () => {
        const r = await runningOf('sleeper');
        return r.length ? r : undefined;
      }, 60_000, 'sleeper running in containerd');
      assert.equal(c!.labels['io.kubernetes.container.name'], 'main');
      assert.ok(c!.annotations['io.kubernetes.container.hash'], 'spec hash annotation');
      assert.equal(c!.annotations['io.kubernetes.container.restartCount'], '0');
      const pod = await eventually(async () => {
        const p = await n.pod('sleeper');
        return p?.status?.phase === 'Running' && p.status.conditions?.find((x) => x.type === 'Ready')?.status === 'True' ? p : undefined;
      }, 20_000, '/pods to show sleeper Running and Ready');
      assert.equal(pod.metadata?.namespace, ns);
      assert.equal(pod.metadata?.annotations?.['kubernetes.io/config.source'], 'file');
      assert.equal(pod.status?.containerStatuses?.[0]?.containerID, `containerd://${c!.id}`);
      assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0);
      assert.match(pod.status?.podIP ?? '', /^10\.88\./);
      assert.equal(pod.status?.qosClass, 'BestEffort');
      const st = (await rt.containerStatus(c!.id)).status;
      await eventually(async () => readFileSync(st.logPath, 'utf8').includes(`hello from ${podName('sleeper')}`), 10_000, '$(POD_NAME) expanded in the log');
      assert.ok(st.logPath.startsWith(join(n.logsDir, `${ns}_${podName('sleeper')}_${pod.metadata?.uid}`)), st.logPath);
    });

    it('runs init containers to completion before the app container', async () => {
      n.writeManifest('init.yaml', `apiVersion: v1
kind: Pod
metadata: { name: with-init, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{ name: shared, emptyDir: {} }]
  initContainers:
    - { name: first, image: "${image}", command: ["sh", "-c", "echo one > /w/log"], volumeMounts: [{ name: shared, mountPath: /w }] }
    - { name: second, image: "${image}", command: ["sh", "-c", "echo two >> /w/log"], volumeMounts: [{ name: shared, mountPath: /w }] }
  containers:
    - { name: app, image: "${image}", command: ["sh", "-c", "cat /w/log; exec sleep 3600"], volumeMounts: [{ name: shared, mountPath: /w }] }
`);
      const pod = await eventually(async () => {
        const p = await n.pod('with-init');
        return p?.status?.phase === 'Running' ? p : undefined;
      }, 60_000, 'with-init Running');
      assert.deepEqual(pod.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.exitCode, s.state?.terminated?.reason]), [
        ['first', 0, 'Completed'],
        ['second', 0, 'Completed'],
      ]);
      assert.equal(pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
      const [app] = await runningOf('with-init');
      const log = (await rt.containerStatus(app!.id)).status.logPath;
      await eventually(async () => / stdout F one\n.* stdout F two\n/s.test(readFileSync(log, 'utf8')), 10_000, 'app saw both init outputs in order');
    });

    it('recreates the pod when its manifest changes', async () => {
      const before = await runningOf('sleeper');
      const oldUid = before[0]!.labels['io.kubernetes.pod.uid'];
      n.writeManifest('sleeper.yaml', manifest('sleeper', { command: 'echo version two; exec sleep 3600' }));
      const after = await eventually(async () => {
        const r = await runningOf('sleeper');
        return r.length === 1 && r[0]!.labels['io.kubernetes.pod.uid'] !== oldUid ? r : undefined;
      }, 60_000, 'a new sleeper with a new UID');
      assert.notEqual(after[0]!.id, before[0]!.id);
      await eventually(
        async () => (await containersOf('sleeper')).every((c) => c.labels['io.kubernetes.pod.uid'] !== oldUid) && (await sandboxesOf('sleeper')).length === 1,
        30_000,
        'the old pod (containers and sandbox) removed from the runtime',
      );
      assert.equal((await sandboxesOf('sleeper'))[0]!.labels['io.kubernetes.pod.uid'], after[0]!.labels['io.kubernetes.pod.uid']);
    });

    it('ends restartPolicy Never pods Succeeded or Failed without restarting them', async () => {
      n.writeManifest('ok.yaml', manifest('job-ok', { command: 'echo done', restartPolicy: 'Never' }));
      n.writeManifest('fail.yaml', manifest('job-fail', { command: 'echo failing; exit 3', restartPolicy: 'Never' }));
      const ok = await eventually(async () => {
        const p = await n.pod('job-ok');
        return p?.status?.phase === 'Succeeded' ? p : undefined;
      }, 60_000, 'job-ok Succeeded');
      assert.equal(ok.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
      const fail = await eventually(async () => {
        const p = await n.pod('job-fail');
        return p?.status?.phase === 'Failed' ? p : undefined;
      }, 60_000, 'job-fail Failed');
      const t = fail.status?.containerStatuses?.[0]?.state?.terminated;
      assert.equal(t?.exitCode, 3);
      assert.equal(t?.reason, 'Error');
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal((await containersOf('job-fail')).length, 1, 'never restarted');
      assert.equal((await n.pod('job-fail'))?.status?.containerStatuses?.[0]?.restartCount, 0);
    });

    it('restarts a crashing container with CrashLoopBackOff and a growing restart count', async () => {
      n.writeManifest('crash.yaml', manifest('crasher', { command: 'echo crash; exit 1' }));
      const pod = await eventually(async () => {
        const p = await n.pod('crasher');
        const cs = p?.status?.containerStatuses?.[0];
        return cs && cs.restartCount >= 2 && cs.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
      }, 90_000, 'crasher in CrashLoopBackOff after 2 restarts', 250);
      const cs = pod.status!.containerStatuses![0]!;
      assert.equal(cs.lastState?.terminated?.exitCode, 1);
      assert.match(cs.state?.waiting?.message ?? '', /back-off \d+s restarting failed container=main/);
      // the gap before the second restart is the 10 s backoff (the first restart is immediate)
      const all = (await containersOf('crasher')).sort((a, b) => a.createdAt - b.createdAt);
      const attempts = await Promise.all(all.map(async (c) => (await rt.containerStatus(c.id)).status));
      const second = attempts.find((s) => s.annotations['io.kubernetes.container.restartCount'] === '2');
      const first = attempts.find((s) => s.annotations['io.kubernetes.container.restartCount'] === '1');
      assert.ok(first && second, `attempts: ${attempts.map((s) => s.annotations['io.kubernetes.container.restartCount']).join(',')}`);
      const gap = (second.createdAt - first.finishedAt) / 1e9;
      assert.ok(gap >= 9, `waited ${gap.toFixed(1)} s before restart 2`);
      n.removeManifest('crash.yaml');
    });

    it('keeps everything else running when the directory holds garbage, and picks up the fixed file', async () => {
      const before = (await runningOf('sleeper'))[0]!.id;
      n.writeManifest('garbage.yaml', 'this: is: not: yaml: [');
      n.writeManifest('bad.yaml', manifest('bad', { command: 'sleep 1' }).replace(`image: ${image}`, 'image: ""'));
      await eventually(async () => /bad\.yaml/.test(n.log()) && /spec\.containers\[0\]\.image/.test(n.log()), 30_000, 'a warning naming bad.yaml and the field');
      await eventually(async () => /garbage\.yaml/.test(n.log()), 30_000, 'a warning naming garbage.yaml');
      assert.deepEqual((await runningOf('sleeper')).map((c) => c.id), [before], 'sleeper untouched');
      assert.equal(await n.pod('bad'), undefined);
      n.writeManifest('bad.yaml', manifest('bad'));
      await eventually(async () => (await runningOf('bad')).length === 1, 60_000, 'the fixed pod running');
      n.removeManifest('garbage.yaml');
    });

    it('removes the containers, sandbox and log directory of a deleted manifest', async () => {
      const pod = (await n.pod('bad'))!;
      const logDir = join(n.logsDir, `${ns}_${podName('bad')}_${pod.metadata?.uid}`);
      assert.ok(existsSync(logDir));
      n.removeManifest('bad.yaml');
      await eventually(async () => (await containersOf('bad')).length === 0 && (await sandboxesOf('bad')).length === 0, 60_000, 'bad removed from the runtime');
      await eventually(async () => !existsSync(logDir), 10_000, 'its log directory removed');
      assert.equal(await n.pod('bad'), undefined);
    });

    it('reports specs the runtime cannot honour with the kubelet waiting reasons, not a crash', async () => {
      n.writeManifest('nonroot.yaml', manifest('nonroot').replace('    - name: main\n', '    - name: main\n      securityContext: { runAsNonRoot: true }\n'));
      n.writeManifest(
        'seccomp.yaml',
        manifest('seccomp').replace('    - name: main\n', '    - name: main\n      securityContext: { seccompProfile: { type: Localhost, localhostProfile: no-such-profile.json } }\n'),
      );
      const nonroot = await eventually(async () => {
        const w = (await n.pod('nonroot'))?.status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === 'CreateContainerConfigError' ? w : undefined;
      }, 60_000, 'nonroot waiting with CreateContainerConfigError');
      assert.match(nonroot.message ?? '', /runAsNonRoot and image will run as root/);
      const seccomp = await eventually(async () => {
        const w = (await n.pod('seccomp'))?.status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === 'CreateContainerError' ? w : undefined;
      }, 60_000, 'seccomp waiting with CreateContainerError');
      assert.match(seccomp.message ?? '', /no-such-profile\.json/);
      assert.equal((await runningOf('sleeper')).length, 1, 'other pods unaffected');
      const health = await fetch(`http://127.0.0.1:${n.port}/healthz`);
      assert.equal(health.status, 200, 'nodelet stays healthy');
      n.removeManifest('nonroot.yaml');
      n.removeManifest('seccomp.yaml');
    });

    it('serves /healthz checks and the kubelet metrics', async () => {
      for (const check of ['ping', 'syncloop', 'pleg']) assert.equal(await (await fetch(`http://127.0.0.1:${n.port}/healthz/${check}`)).text(), 'ok');
      const metrics = await (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
      for (const name of [
        'kubelet_pleg_relist_duration_seconds_bucket',
        'kubelet_pleg_relist_interval_seconds_bucket',
        'kubelet_pleg_last_seen_seconds',
        'kubelet_running_pods',
        'kubelet_running_containers{container_state="running"}',
        'kubelet_pod_start_duration_seconds_count',
        'kubelet_pod_worker_duration_seconds_count{operation_type="create"}',
        'kubelet_runtime_operations_total{operation_type="run_podsandbox"}',
      ]) assert.ok(metrics.includes(name), `metric ${name}`);
      const running = Number(/^kubelet_running_pods (\d+)/m.exec(metrics)?.[1]);
      assert.ok(running >= 2, `kubelet_running_pods ${running}`);
    });

    it('adopts running pods after kill -9: no container started twice, none lost', async () => {
      const names = ['adopt-a', 'adopt-b', 'adopt-c', 'adopt-d'];
      for (const x of names) n.writeManifest(`${x}.yaml`, manifest(x));
      // kill while the pods are being started
      await eventually(async () => (await runningOf('adopt-a')).length + (await runningOf('adopt-b')).length > 0, 60_000, 'some pods started');
      await n.stop('SIGKILL');
      const sleeperBefore = (await runningOf('sleeper')).map((c) => c.id);
      await n.start();
      for (const x of names) await eventually(async () => (await runningOf(x)).length === 1, 60_000, `${x} running after the restart`);
      // give a few sync periods for any duplicate to appear
      await new Promise((r) => setTimeout(r, 5000));
      for (const x of names) {
        assert.equal((await runningOf(x)).length, 1, `${x}: exactly one running container`);
        assert.equal((await sandboxesOf(x)).filter((s) => s.state === 'SANDBOX_READY').length, 1, `${x}: exactly one ready sandbox`);
      }
      assert.deepEqual((await runningOf('sleeper')).map((c) => c.id), sleeperBefore, 'the pod that ran before is the same container');
      const pod = await eventually(async () => {
        const p = await n.pod('sleeper');
        return p?.status?.phase === 'Running' ? p : undefined;
      }, 20_000, 'sleeper reported Running after the restart');
      assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0);
    });
  });
}
