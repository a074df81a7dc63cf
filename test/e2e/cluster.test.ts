// Cluster mode end to end: `nodelet run --bootstrap-kubeconfig ... --kubeconfig ...` as a process
// against the project's test API server (a fixture speaking the real REST API) and real
// containerd. What a cluster operator sees: the node bootstraps its identity by CSR (files and
// modes as the kubelet writes them), registers Ready, runs a pod bound to it in containerd,
// reports it Running, adopts it across a crash of nodelet, and deletes it gracefully.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { CriClient } from '../../src/runtime/cri/index.js';
import type { Container } from '../../src/runtime/index.js';
import { startApprover, startTestApiServer, type Approver, type TestApiServer } from '../apiserver/index.js';
import { createCA, issueCert, type KeyPair } from '../apiserver/pki.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { eventually, removePodsInNamespace } from './helpers.js';
import { freePort, NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'e2e-cluster';
const bootstrapToken = 'abcdef.0123456789abcdef';
const aliceToken = 'alice-token-0123456789';
const adminToken = 'admin-token-0123456789';

interface Who {
  cert?: KeyPair;
  token?: string;
}

/** One HTTPS request to the kubelet API (its certificate is self-signed: not verified here). */
function call(port: number, path: string, who: Who, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method, agent: false, rejectUnauthorized: false, ...(who.cert ? { cert: who.cert.cert, key: who.cert.key } : {}), headers: who.token ? { authorization: `Bearer ${who.token}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

if (!env.available) {
  test('cluster mode against containerd', { skip: env.reason }, () => {});
} else {
  describe('cluster mode against containerd', { concurrency: false, timeout: 600_000 }, () => {
    let rt: CriClient;
    let s: TestApiServer;
    let approver: Approver;
    let n: NodeletProcess;
    let api: CoreV1Api;
    let apiPort = 0;
    const foreign = issueCert(createCA('another-ca'), 'mallory', ['system:masters']);
    const containersOf = async (name: string): Promise<Container[]> => rt.listContainers({ labelSelector: { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': ns } });
    const apiPod = (name: string): V1Pod | undefined => s.get('pods', ns, name) as V1Pod | undefined;

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      s = await startTestApiServer({
        tokens: {
          [bootstrapToken]: { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers'] },
          [aliceToken]: { name: 'alice', groups: [] },
          [adminToken]: { name: 'kube-apiserver-kubelet-client', groups: ['system:masters'] },
        },
        // what kubeadm's bootstrap RBAC grants: create and read CSRs
        authorize: (a) => (a.user.groups.includes('system:bootstrappers') && a.resource === 'certificatesigningrequests' && !a.subresource && ['create', 'get', 'list', 'watch'].includes(a.verb) ? true : undefined),
      });
      approver = startApprover(s);
      api = s.kubeconfig().makeApiClient(CoreV1Api);
      await api.createNamespace({ body: { metadata: { name: ns } } });
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'e2e-cluster-node' });
      mkdirSync(join(n.dir, 'etc'), { recursive: true });
      const bootstrap = s.writeKubeconfig(join(n.dir, 'etc', 'bootstrap-kubelet.conf'), { token: bootstrapToken });
      const clientCA = join(n.dir, 'etc', 'client-ca.crt');
      writeFileSync(clientCA, s.pki!.ca.cert);
      apiPort = await freePort();
      n.extraArgs.push('--bootstrap-kubeconfig', bootstrap, '--kubeconfig', join(n.dir, 'etc', 'kubelet.conf'), '--rotate-certificates', 'true', '--port', String(apiPort), '--client-ca-file', clientCA);
      await n.start();
    });

    after(async () => {
      await n?.stop();
      approver?.stop();
      if (rt) await removePodsInNamespace(rt, ns);
      rt?.close();
      await s?.close();
      if (process.env['NODELET_KEEP_E2E'] !== '1') n?.cleanup();
    });

    it('bootstraps its client certificate by CSR (files 0600 in a 0700 dir) and registers a Ready Node with it', async () => {
      const node = await eventually(async () => {
        const nd = s.get('nodes', '', n.nodeName) as { status?: { conditions?: { type: string; status: string }[] } } | undefined;
        return nd?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? nd : undefined;
      }, 60_000, 'the Node Ready');
      assert.ok(node);
      const csr = approver.seen.find((c) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet');
      assert.ok(csr, 'a client CSR was sent');
      assert.equal(csr.spec.username, 'system:bootstrap:abcdef', 'sent with the bootstrap token');
      const pki = join(n.rootDir, 'pki');
      assert.equal(statSync(pki).mode & 0o777, 0o700);
      const pems = readdirSync(pki).filter((f) => /^kubelet-client-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/.test(f));
      assert.equal(pems.length, 1, readdirSync(pki).join(' '));
      assert.equal(statSync(join(pki, pems[0]!)).mode & 0o777, 0o600);
      assert.ok(lstatSync(join(pki, 'kubelet-client-current.pem')).isSymbolicLink());
      assert.equal(readlinkSync(join(pki, 'kubelet-client-current.pem')), join(pki, pems[0]!));
      assert.equal(statSync(join(n.dir, 'etc', 'kubelet.conf')).mode & 0o777, 0o600);
      const nodeWrites = s.requests.filter((r) => r.path.startsWith('/api/v1/nodes') && r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch');
      assert.ok(nodeWrites.length > 0 && nodeWrites.every((r) => r.user === `system:node:${n.nodeName}`), 'the Node is written with the bootstrapped identity');
    });

    it('runs a pod bound to it in containerd and reports it Running', async () => {
      await api.createNamespacedPod({
        namespace: ns,
        // as a real API server makes it: with the projected kube-api-access volume
        body: { metadata: { name: 'web' }, spec: { nodeName: n.nodeName, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }] } },
      });
      const pod = await eventually(async () => (apiPod('web')?.status?.phase === 'Running' ? apiPod('web') : undefined), 60_000, 'web Running in the API');
      const [c] = (await containersOf('web')).filter((x) => x.state === 'CONTAINER_RUNNING');
      assert.ok(c, 'the container runs in containerd');
      assert.equal(pod.status?.containerStatuses?.[0]?.containerID, `containerd://${c.id}`);
      assert.match(pod.status?.podIP ?? '', /^10\.88\./);
    });

    it('adopts the running pod after a crash: the same container, nothing started twice', async () => {
      const before = apiPod('web')!.status!.containerStatuses![0]!.containerID;
      // the Lease comes with the first renewal after the Node exists (as upstream: no owner, no Lease yet)
      const lease = (): { spec: { renewTime: string } } | undefined => s.get('leases', 'kube-node-lease', n.nodeName) as { spec: { renewTime: string } } | undefined;
      const renewed = (await eventually(async () => lease(), 30_000, 'the Lease')).spec.renewTime;
      await n.stop('SIGKILL');
      await n.start();
      // a fresh Lease renewal shows the new process is up and talking to the API
      await eventually(async () => lease()?.spec.renewTime !== renewed, 30_000, 'a Lease renewal by the new process');
      await new Promise((r) => setTimeout(r, 3000)); // a few syncs and housekeeping passes
      const all = await containersOf('web');
      assert.equal(all.length, 1, 'one container, not a second one');
      assert.equal(`containerd://${all[0]!.id}`, before);
      assert.equal(all[0]!.state, 'CONTAINER_RUNNING');
      assert.equal(apiPod('web')?.status?.containerStatuses?.[0]?.restartCount, 0);
    });

    it('serves the kubelet API on its port only to callers the API server authorizes (client certs, tokens, SubjectAccessReview)', async () => {
      const pki = s.pki!;
      const admin = pki.admin; // system:masters, as an API server's kubelet client is allowed
      const nodeCert = pki.client(`system:node:${n.nodeName}`, ['system:nodes']);
      const table: [string, string, Who, string, number, RegExp?][] = [
        ['no credentials', 'GET', {}, '/pods', 401, /^Unauthorized/],
        ['no credentials, healthz too', 'GET', {}, '/healthz', 401],
        ['a certificate from another CA', 'GET', { cert: foreign }, '/pods', 401],
        ['an unknown token', 'GET', { token: 'nope' }, '/pods', 401],
        ['a user without rights (token)', 'GET', { token: aliceToken }, '/pods', 403, /^Forbidden \(user=alice, verb=get, resource=nodes, subresource=proxy\)/],
        ['a user without rights: metrics', 'GET', { token: aliceToken }, '/metrics', 403, /subresource=metrics/],
        ['the node itself', 'GET', { cert: nodeCert }, '/pods', 403, /^Forbidden \(user=system:node:/],
        ['admin: pods', 'GET', { cert: admin }, '/pods', 200, /"name":"web"/],
        ['admin: healthz', 'GET', { cert: admin }, '/healthz', 200, /^ok$/],
        ['admin: metrics', 'GET', { cert: admin }, '/metrics', 200, /kubelet_pleg_relist_duration_seconds/],
        ['admin: logs', 'GET', { cert: admin }, `/containerLogs/${ns}/web/main`, 200],
        ['admin by token: run', 'POST', { token: adminToken }, `/run/${ns}/web/main?cmd=echo+hello+from+web`, 200, /^hello from web\n$/],
        ['the service-account files in the container', 'POST', { cert: admin }, `/run/${ns}/web/main?cmd=cat+/var/run/secrets/kubernetes.io/serviceaccount/namespace`, 200, new RegExp(`^${ns}$`)],
        ['the token is mounted read-only', 'POST', { cert: admin }, `/run/${ns}/web/main?cmd=touch+/var/run/secrets/kubernetes.io/serviceaccount/x`, 500, /Read-only file system/],
      ];
      for (const [what, method, who, path, code, body] of table) {
        const r = await call(apiPort, path, who, method);
        assert.equal(r.status, code, `${what}: ${method} ${path} -> ${r.status} ${r.body.slice(0, 200)}`);
        if (body) assert.match(r.body, body, what);
      }
      // the local healthz port answers /healthz only in cluster mode
      assert.equal((await fetch(`http://127.0.0.1:${n.port}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${n.port}/pods`)).status, 404);
    });

    it('deletes the pod gracefully: container stopped, then the final delete removes it from the API', async () => {
      await api.deleteNamespacedPod({ name: 'web', namespace: ns, body: { gracePeriodSeconds: 1 } });
      await eventually(async () => apiPod('web') === undefined, 30_000, 'web gone from the API');
      await eventually(async () => (await containersOf('web')).every((c) => c.state !== 'CONTAINER_RUNNING'), 10_000, 'no running container');
      await eventually(async () => (await rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': ns } })).length === 0, 20_000, 'the sandbox removed');
    });
  });
}
