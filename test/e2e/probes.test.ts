// Probes, lifecycle hooks and termination messages against real containerd. Host-network pods:
// probes aim at 127.0.0.1 (nodelet runs with --node-ip 127.0.0.1), never at pod IPs.
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { CriClient } from '../../src/runtime/cri/index.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { eventually, removePodsInNamespace } from './helpers.js';
import { NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'probes';

function pod(name: string, container: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  containers:
${container}`;
}

if (!env.available) {
  test('probes and hooks against containerd', { skip: env.reason }, () => {});
} else {
  describe('probes and hooks against containerd', { concurrency: false, timeout: 300_000 }, () => {
    let rt: CriClient;
    let n: NodeletProcess;

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'probe-node', extraArgs: ['--node-ip', '127.0.0.1'] });
      await n.start();
    });

    after(async () => {
      await n.stop();
      await removePodsInNamespace(rt, ns);
      rt.close();
      n.cleanup();
    });

    it('turns a busybox httpd Ready through an httpGet readiness probe', async () => {
      n.writeManifest(
        'web.yaml',
        pod(
          'web',
          `    - name: httpd
      image: ${image}
      command: ["sh", "-c", "sleep 3; exec httpd -f -p 127.0.0.1:18080 -h /var/www"]
      ports: [{ name: http, containerPort: 18080 }]
      readinessProbe: { httpGet: { path: /index.html, port: http }, periodSeconds: 1 }
`,
        ),
      );
      const notReady = await eventually(async () => {
        const p = await n.pod('web');
        return p?.status?.phase === 'Running' ? p : undefined;
      }, 60_000, 'web Running');
      assert.equal(notReady.status?.containerStatuses?.[0]?.ready, false, 'not ready before httpd listens');
      const ready = await eventually(async () => {
        const p = await n.pod('web');
        return p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
      }, 30_000, 'web Ready');
      assert.equal(ready.status?.containerStatuses?.[0]?.ready, true);
      const metrics = await (await fetch(`http://127.0.0.1:${n.port}/metrics/probes`)).text();
      assert.match(metrics, /prober_probe_total\{[^}]*probe_type="Readiness"[^}]*result="successful"[^}]*\} [1-9]/);
    });

    it('restarts a container whose liveness probe starts failing', async () => {
      n.writeManifest(
        'live.yaml',
        pod(
          'live',
          `    - name: main
      image: ${image}
      command: ["sh", "-c", "touch /tmp/alive; sleep 6; rm /tmp/alive; exec sleep 600"]
      livenessProbe: { exec: { command: ["cat", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 2 }
`,
        ),
      );
      const p = await eventually(async () => {
        const x = await n.pod('live');
        return (x?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? x : undefined;
      }, 60_000, 'live restarted', 250);
      const cs = p.status!.containerStatuses![0]!;
      assert.ok(cs.lastState?.terminated, 'lastState shows the killed instance');
      const events = (await (await fetch(`http://127.0.0.1:${n.port}/events?namespace=${ns}&name=live-probe-node`)).json()) as { items: { reason: string; message: string }[] };
      assert.ok(events.items.some((e) => e.reason === 'Unhealthy' && /Liveness probe failed/.test(e.message)));
      assert.ok(events.items.some((e) => e.reason === 'Killing' && /failed liveness probe, will be restarted/.test(e.message)));
      n.removeManifest('live.yaml');
    });

    it('counts an exec probe that times out as a failure', async () => {
      n.writeManifest(
        'slow.yaml',
        pod(
          'slow',
          `    - name: main
      image: ${image}
      command: ["sleep", "600"]
      readinessProbe: { exec: { command: ["sleep", "5"] }, periodSeconds: 2, timeoutSeconds: 1 }
`,
        ),
      );
      await eventually(async () => {
        const r = (await (await fetch(`http://127.0.0.1:${n.port}/events?namespace=${ns}&name=slow-probe-node`)).json()) as { items: { reason: string; message: string }[] };
        return r.items.some((e) => e.reason === 'Unhealthy' && /Readiness probe/.test(e.message) && /timed out/i.test(e.message));
      }, 40_000, 'a readiness failure for the timeout');
      assert.equal((await n.pod('slow'))?.status?.containerStatuses?.[0]?.ready, false);
      n.removeManifest('slow.yaml');
    });

    it('runs postStart and fills the termination message', async () => {
      n.writeManifest(
        'hooks.yaml',
        pod(
          'hooks',
          `    - name: main
      image: ${image}
      command: ["sh", "-c", "sleep 2; cat /tmp/hook > /dev/termination-log; exit 4"]
      lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo from-poststart > /tmp/hook"] } } }
`,
        ).replace('  hostNetwork: true\n', '  hostNetwork: true\n  restartPolicy: Never\n'),
      );
      const p = await eventually(async () => {
        const x = await n.pod('hooks');
        return x?.status?.phase === 'Failed' ? x : undefined;
      }, 60_000, 'hooks Failed');
      const t = p.status!.containerStatuses![0]!.state!.terminated!;
      assert.equal(t.exitCode, 4);
      assert.equal(t.message, 'from-poststart\n', 'the postStart hook wrote the file, the container copied it into its termination message');
    });
  });
}
