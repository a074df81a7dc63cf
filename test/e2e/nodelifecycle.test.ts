// The node lifecycle controller end to end: a real nodelet node (containerd) and `nodelet
// controller` as processes against the test API server. The node's nodelet is killed with SIGKILL:
// the controller turns the node Unknown and taints it unreachable; nodelet restarted, the node is
// Ready again and the taints go. Real time: the grace period is shortened to 20 s (the Lease is
// renewed every 10 s), the monitor period to 1 s.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { projectRoot, testRuntimeEnv } from '../runtime-env.js';
import { eventually } from './helpers.js';
import { freePort, NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();

if (!env.available) {
  test('node lifecycle controller with a real nodelet', { skip: env.reason }, () => {});
} else {
  describe('node lifecycle controller with a real nodelet', { concurrency: false, timeout: 300_000 }, () => {
    let s: TestApiServer;
    let n: NodeletProcess;
    let controller: ChildProcess | undefined;
    let controllerLog = '';
    let renewer: ReturnType<typeof setInterval> | undefined;
    let replica: ChildProcess | undefined;
    const node = (): V1Node | undefined => s.get('nodes', '', n.nodeName) as V1Node | undefined;
    const ready = (): string | undefined => node()?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const taints = (): string[] => (node()?.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();

    before(async () => {
      s = await startTestApiServer();
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'e2e-lifecycle-node' });
      n.extraArgs.push('--kubeconfig', s.writeKubeconfig(join(n.dir, 'node.kubeconfig'), { node: n.nodeName }), '--port', String(await freePort()));
      await n.start();
      await eventually(async () => ready() === 'True', 60_000, 'the Node Ready');
      // two more (simulated) healthy nodes: with one node only, its loss would be a full
      // disruption, where the controller taints nothing NoExecute (as upstream)
      for (const name of ['e2e-sim-a', 'e2e-sim-b']) {
        const now = new Date().toISOString();
        s.put('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] } } as never);
      }
      const renew = (): void => {
        for (const name of ['e2e-sim-a', 'e2e-sim-b']) {
          s.put('leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') } } as never);
        }
      };
      renew();
      renewer = setInterval(renew, 2000);
      controllerLog = join(n.dir, 'controller.log');
      controller = startController(controllerLog);
      await eventually(async () => readFileSync(controllerLog, 'utf8').includes('Starting node lifecycle controller'), 30_000, 'the controller leading and started');
    });

    const startController = (log: string): ChildProcess => {
      const out = openSync(log, 'a');
      return spawn(process.execPath, [
        join(projectRoot, 'bin/nodelet.js'), 'controller',
        '--kubeconfig', s.writeKubeconfig(join(n.dir, 'admin.kubeconfig')),
        '--node-monitor-period', '1s', '--node-monitor-grace-period', '20s', '--secure-port', '0',
      ], { stdio: ['ignore', out, out] });
    };

    after(async () => {
      clearInterval(renewer);
      replica?.kill('SIGTERM');
      controller?.kill('SIGTERM');
      await n?.stop();
      await s?.close();
      n?.cleanup();
    });

    it('a node whose nodelet is killed goes Unknown and is tainted unreachable; restarted, it recovers', async () => {
      assert.deepEqual(taints(), []);
      await n.stop('SIGKILL');
      const killed = Date.now();
      await eventually(async () => ready() === 'Unknown', 60_000, 'Ready=Unknown');
      const ready_ = node()!.status!.conditions!.find((c) => c.type === 'Ready')!;
      assert.equal(ready_.reason, 'NodeStatusUnknown');
      assert.ok(Date.now() - killed >= 10_000, 'not before the grace period');
      // the controller patched the conditions only: what nodelet posted (and the controller does not cache) stays
      const st = node()!.status!;
      assert.ok(st.nodeInfo?.kubeletVersion && st.nodeInfo.containerRuntimeVersion.startsWith('containerd://'), JSON.stringify(st.nodeInfo));
      assert.ok((st.addresses ?? []).length > 0 && st.capacity?.['cpu'], 'addresses and capacity kept');
      await eventually(async () => taints().join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule', 20_000, 'the unreachable taints');
      await n.start();
      await eventually(async () => ready() === 'True', 60_000, 'Ready again');
      await eventually(async () => taints().length === 0, 30_000, 'the taints removed');
    });

    it('two replicas: one leads, the other waits; the leader killed, the other takes over', async () => {
      const replicaLog = join(n.dir, 'replica.log');
      replica = startController(replicaLog);
      await eventually(async () => readFileSync(replicaLog, 'utf8').includes('"msg":"'), 20_000, 'the replica running');
      await new Promise((r) => setTimeout(r, 5000));
      assert.ok(!readFileSync(replicaLog, 'utf8').includes('Starting node lifecycle controller'), 'the replica does not act while the leader holds the lease');
      const lease = s.get('leases', 'kube-system', 'kube-controller-manager') as { spec: { holderIdentity: string } };
      assert.ok(lease.spec.holderIdentity, 'the leader holds the Lease');
      controller!.kill('SIGKILL');
      await eventually(async () => readFileSync(replicaLog, 'utf8').includes('Starting node lifecycle controller'), 40_000, 'the replica taking over');
      const now = s.get('leases', 'kube-system', 'kube-controller-manager') as { spec: { holderIdentity: string; leaseTransitions?: number } };
      assert.notEqual(now.spec.holderIdentity, lease.spec.holderIdentity);
    });
  });
}
