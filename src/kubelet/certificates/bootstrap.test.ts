// End to end against the test API server: TLS bootstrap with a bootstrap token, a denied CSR,
// rotation on a FakeClock with the running client switching to the new certificate, and the
// serving certificate by CSR. HTTP needs real time for I/O; nothing asserts timings.

import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startApprover, startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { FakeClock } from '../../util/clock.js';
import { loadClientCert } from './bootstrap.js';
import { kubeCsrClient } from './csr.js';
import { KubeAPIServerClientKubeletSignerName, KubeletServingSignerName, servingTemplate } from './decisions.js';
import { CertificateManager } from './manager.js';
import { FileStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'nodelet-bootstrap-'));
after(() => rmSync(root, { recursive: true, force: true }));
const token = 'abcdef.0123456789abcdef';

async function server(): Promise<TestApiServer> {
  return startTestApiServer({
    tokens: { [token]: { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers'] } },
    authorize: (a) => (a.user.groups.includes('system:bootstrappers') && a.resource === 'certificatesigningrequests' && !a.subresource && ['create', 'get', 'list', 'watch'].includes(a.verb) ? true : undefined),
  });
}

const approver = startApprover;

function bootstrapKubeconfig(s: TestApiServer, dir: string): string {
  mkdirSync(dir, { recursive: true });
  return s.writeKubeconfig(join(dir, 'bootstrap-kubelet.conf'), { token });
}

const apiCode = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { code?: number }) => e.code ?? -1);

describe('TLS bootstrap', () => {
  it('requests a client certificate, stores it and writes a kubeconfig that authenticates as the node', async () => {
    const s = await server();
    const a = approver(s);
    try {
      const dir = join(root, 'boot');
      const certDir = join(dir, 'pki');
      const kubeconfigPath = join(dir, 'kubelet.conf');
      const kc = await loadClientCert({ kubeconfigPath, bootstrapKubeconfigPath: bootstrapKubeconfig(s, dir), certDir, nodeName: 'n1', clock: new FakeClock(Date.now()) });

      const csr = a.seen[0]!;
      assert.equal(a.seen.length, 1);
      assert.match(csr.metadata!.name!, /^node-csr-[A-Za-z0-9_-]{43}$/);
      assert.equal(csr.spec.signerName, KubeAPIServerClientKubeletSignerName);
      assert.deepEqual(csr.spec.usages, ['digital signature', 'client auth']);
      assert.equal(csr.spec.username, 'system:bootstrap:abcdef');
      assert.equal(csr.spec.expirationSeconds, undefined);
      const req = Buffer.from(csr.spec.request, 'base64').toString();
      assert.match(req, /BEGIN CERTIFICATE REQUEST/);

      const files = readdirSync(certDir).sort();
      assert.equal(files.length, 2, files.join());
      assert.match(files[0]!, /^kubelet-client-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/);
      assert.equal(files[1], 'kubelet-client-current.pem');
      assert.equal(statSync(certDir).mode & 0o777, 0o700);
      assert.equal(statSync(join(certDir, files[0]!)).mode & 0o777, 0o600);
      assert.equal(readlinkSync(join(certDir, 'kubelet-client-current.pem')), join(certDir, files[0]!));
      assert.equal(statSync(kubeconfigPath).mode & 0o777, 0o600);
      const conf = readFileSync(kubeconfigPath, 'utf8');
      assert.match(conf, new RegExp(`client-certificate: ${join(certDir, 'kubelet-client-current.pem')}`));
      assert.match(conf, new RegExp(`client-key: ${join(certDir, 'kubelet-client-current.pem')}`));

      const cert = new X509Certificate(readFileSync(join(certDir, 'kubelet-client-current.pem')));
      assert.equal(cert.subject, 'O=system:nodes\nCN=system:node:n1');
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');

      // The new identity is system:node:n1: its own (missing) Node is 404, another node's create is 403.
      const core = kc.makeApiClient(CoreV1Api);
      assert.equal(await apiCode(core.readNode({ name: 'n1' })), 404);
      assert.equal(await apiCode(core.createNode({ body: { metadata: { name: 'n2' } } })), 403);
      assert.equal(s.requests.at(-1)?.user, 'system:node:n1');

      // A second start finds the valid kubeconfig and sends no CSR.
      const again = await loadClientCert({ kubeconfigPath, bootstrapKubeconfigPath: join(dir, 'missing.conf'), certDir, nodeName: 'n1', clock: new FakeClock(Date.now()) });
      assert.equal(again.getCurrentUser()?.certFile, join(certDir, 'kubelet-client-current.pem'));
      assert.equal(s.list('certificatesigningrequests').length, 1);
    } finally {
      a.stop();
      await s.close();
    }
  });

  it('fails with the reason when the CSR is denied, keeping the key for the next try', async () => {
    const s = await server();
    const a = approver(s, 'Denied');
    try {
      const dir = join(root, 'denied');
      await assert.rejects(
        loadClientCert({ kubeconfigPath: join(dir, 'kubelet.conf'), bootstrapKubeconfigPath: bootstrapKubeconfig(s, dir), certDir: join(dir, 'pki'), nodeName: 'n1', clock: new FakeClock(Date.now()) }),
        /^CertificateRequestError: certificate signing request node-csr-\S+ is denied, reason: TestDecision, message: denied by the test$/,
      );
      assert.equal(statSync(join(dir, 'pki', 'kubelet-client.key.tmp')).mode & 0o777, 0o600);
      assert.throws(() => lstatSync(join(dir, 'pki', 'kubelet-client-current.pem')), /ENOENT/);
    } finally {
      a.stop();
      await s.close();
    }
  });

  it('fails clearly when the bootstrap kubeconfig is missing', async () => {
    const dir = join(root, 'nobootstrap');
    await assert.rejects(loadClientCert({ kubeconfigPath: join(dir, 'kubelet.conf'), bootstrapKubeconfigPath: join(dir, 'nope.conf'), certDir: join(dir, 'pki'), nodeName: 'n1', clock: new FakeClock() }),
      /unable to load bootstrap kubeconfig/);
  });
});

/** An HTTPS server with the test API server's serving pair that records the client certificate of each request. */
async function recordingServer(s: TestApiServer): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const srv = createServer({ key: s.pki!.serving.key, cert: s.pki!.serving.cert, ca: s.caPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const raw = (req.socket as TLSSocket).getPeerCertificate().raw;
    seen.push(createHash('sha256').update(raw).digest('hex'));
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `https://127.0.0.1:${port}`, seen, close: () => new Promise((r) => {
    srv.close(() => r());
    srv.closeAllConnections();
  }) };
}

const fingerprint = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

describe('CertificateManager rotation', () => {
  it('rotates at the deadline: new file, symlink swapped, and the running client uses the new certificate', async () => {
    const s = await server();
    const a = approver(s);
    const rec = await recordingServer(s);
    const clock = new FakeClock(Date.now());
    try {
      const dir = join(root, 'rotate');
      const certDir = join(dir, 'pki');
      const kubeconfigPath = join(dir, 'kubelet.conf');
      const kc = await loadClientCert({ kubeconfigPath, bootstrapKubeconfigPath: bootstrapKubeconfig(s, dir), certDir, nodeName: 'n1', clock });
      const store = new FileStore({ dir: certDir, pairNamePrefix: 'kubelet-client', clock });
      const mgr = new CertificateManager({
        kind: 'client', clock, store, signerName: KubeAPIServerClientKubeletSignerName,
        getTemplate: () => ({ commonName: 'system:node:n1', organizations: ['system:nodes'] }),
        csrClient: () => kubeCsrClient(kc), random: () => 0.5,
      });
      const first = mgr.current()!;
      // A client aimed at the recording server with the same (file-based) user.
      const probe = new KubeConfig();
      probe.loadFromOptions({ clusters: [{ name: 'c', server: rec.url, caData: Buffer.from(s.caPem).toString('base64') }], users: kc.users, contexts: [{ name: 'c', cluster: 'c', user: kc.getCurrentUser()!.name }], currentContext: 'c' });
      const probeApi = probe.makeApiClient(CoreV1Api);
      await apiCode(probeApi.readNode({ name: 'n1' }));
      assert.equal(rec.seen.at(-1), fingerprint(first.certPem));

      const rotated = new Promise<void>((r) => mgr.onRotate(() => r()));
      mgr.start();
      const deadline = first.notBefore + 0.8 * (first.notAfter - first.notBefore);
      await clock.advance(deadline - clock.now() - 60_000);
      assert.equal(s.list('certificatesigningrequests').length, 1, 'nothing before the deadline');
      await clock.advance(61_000);
      await rotated;

      const second = mgr.current()!;
      assert.notEqual(fingerprint(second.certPem), fingerprint(first.certPem));
      const csrs = a.seen.filter((c) => c.metadata!.name!.startsWith('csr-'));
      assert.equal(csrs.length, 1);
      assert.equal(csrs[0]!.spec.username, 'system:node:n1', 'the node rotates with its current identity');
      const files = readdirSync(certDir).filter((f) => /^kubelet-client-\d/.test(f));
      assert.equal(files.length, 2);
      assert.equal(readlinkSync(join(certDir, 'kubelet-client-current.pem')), second.path);
      assert.equal(statSync(second.path).mode & 0o777, 0o600);

      await apiCode(probeApi.readNode({ name: 'n1' }));
      assert.equal(rec.seen.at(-1), fingerprint(second.certPem), 'the next request presents the new certificate');
      assert.equal(await apiCode(kc.makeApiClient(CoreV1Api).readNode({ name: 'n1' })), 404);
      assert.equal(s.requests.at(-1)?.user, 'system:node:n1');
      mgr.stop();
    } finally {
      a.stop();
      await rec.close();
      await s.close();
    }
  });

  it('retries a failed rotation with backoff on the clock', async () => {
    const s = await server();
    const a = approver(s);
    const clock = new FakeClock(Date.now());
    try {
      const dir = join(root, 'retry');
      const certDir = join(dir, 'pki');
      const kc = await loadClientCert({ kubeconfigPath: join(dir, 'kubelet.conf'), bootstrapKubeconfigPath: bootstrapKubeconfig(s, dir), certDir, nodeName: 'n1', clock });
      const mgr = new CertificateManager({
        kind: 'client', clock, store: new FileStore({ dir: certDir, pairNamePrefix: 'kubelet-client', clock }), signerName: KubeAPIServerClientKubeletSignerName,
        getTemplate: () => ({ commonName: 'system:node:n1', organizations: ['system:nodes'] }), csrClient: () => kubeCsrClient(kc), random: () => 0,
      });
      s.faults.failNext(1, 500);
      assert.equal(await mgr.rotate(), false);
      assert.equal(await mgr.rotate(), true);
      assert.equal(readdirSync(certDir).filter((f) => /^kubelet-client-\d/.test(f)).length >= 1, true);
    } finally {
      a.stop();
      await s.close();
    }
  });
});

describe('serving certificate by CSR', () => {
  it('requests kubernetes.io/kubelet-serving with the node addresses as SANs and stores kubelet-server-*.pem', async () => {
    const s = await server();
    const a = approver(s);
    const clock = new FakeClock(Date.now());
    try {
      const dir = join(root, 'serving');
      const certDir = join(dir, 'pki');
      const kc = await loadClientCert({ kubeconfigPath: join(dir, 'kubelet.conf'), bootstrapKubeconfigPath: bootstrapKubeconfig(s, dir), certDir, nodeName: 'n1', clock });
      const mgr = new CertificateManager({
        kind: 'server', clock, store: new FileStore({ dir: certDir, pairNamePrefix: 'kubelet-server', clock }), signerName: KubeletServingSignerName,
        getTemplate: () => servingTemplate('n1', [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '127.0.0.1' }]),
        csrClient: () => kubeCsrClient(kc),
      });
      assert.equal(mgr.current(), undefined);
      const got = new Promise<void>((r) => mgr.onRotate(() => r()));
      mgr.start();
      await got;
      mgr.stop();
      const csr = a.seen.find((c) => c.spec.signerName === KubeletServingSignerName)!;
      assert.deepEqual(csr.spec.usages, ['digital signature', 'server auth']);
      assert.equal(csr.spec.username, 'system:node:n1');
      const req = Buffer.from(csr.spec.request, 'base64').toString();
      const { Pkcs10CertificateRequest, SubjectAlternativeNameExtension } = await import('@peculiar/x509');
      const p = new Pkcs10CertificateRequest(req);
      assert.equal(p.subject, 'O=system:nodes, CN=system:node:n1');
      const san = p.extensions.find((e) => e.type === SubjectAlternativeNameExtension.NAME || e.type === '2.5.29.17');
      assert.deepEqual(san && new SubjectAlternativeNameExtension(san.rawData).names.toJSON(), [{ type: 'dns', value: 'n1' }, { type: 'ip', value: '127.0.0.1' }]);
      const cur = mgr.current()!;
      assert.equal(cur.commonName, 'system:node:n1');
      assert.equal(readlinkSync(join(certDir, 'kubelet-server-current.pem')), cur.path);
      assert.equal(statSync(cur.path).mode & 0o777, 0o600);
    } finally {
      a.stop();
      await s.close();
    }
  });
});

