import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { generateSelfSignedCertKey, pemBlocks } from './pki.js';
import { loadOrGenerateServingCert } from './serving.js';
import { FileStore, NoCertKeyError, storeTimestamp } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'nodelet-certs-'));
after(() => rmSync(root, { recursive: true, force: true }));

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('FileStore', () => {
  it('writes kubelet-client-<timestamp>.pem (0600, dir 0700) and swaps the -current symlink', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 24, 5, 6, 7));
    const dir = join(root, 'pki');
    const store = new FileStore({ dir, pairNamePrefix: 'kubelet-client', clock });
    assert.throws(() => store.current(), NoCertKeyError);
    assert.equal(store.tryCurrent(), undefined);

    const a = await generateSelfSignedCertKey('a', [], [], clock.now());
    const first = store.update(a.certPem, a.keyPem);
    assert.equal(first.path, join(dir, 'kubelet-client-2026-11-24-05-06-07.pem'));
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(first.path), 0o600);
    const cur = join(dir, 'kubelet-client-current.pem');
    assert.ok(lstatSync(cur).isSymbolicLink());
    assert.equal(readlinkSync(cur), first.path);
    const text = readFileSync(cur, 'utf8');
    assert.deepEqual(pemBlocks(text).map((b) => b.type), ['CERTIFICATE', 'CERTIFICATE', 'RSA PRIVATE KEY'], 'leaf, intermediate (the CA here), key');
    assert.equal(store.current().commonName, first.commonName);

    await clock.advance(61_000);
    const b = await generateSelfSignedCertKey('b', [], [], clock.now());
    const second = store.update(b.certPem, b.keyPem);
    assert.equal(second.path, join(dir, 'kubelet-client-2026-11-24-05-07-08.pem'));
    assert.equal(readlinkSync(cur), second.path);
    assert.match(store.current().commonName, /^b@/);
    assert.equal(mode(first.path), 0o600, 'the old file stays');
  });

  it('refuses a key that does not match the certificate, and a -current that is a file', async () => {
    const clock = new FakeClock();
    const dir = join(root, 'pki2');
    const store = new FileStore({ dir, pairNamePrefix: 'kubelet-server', clock });
    const a = await generateSelfSignedCertKey('a', [], [], clock.now());
    const b = await generateSelfSignedCertKey('b', [], [], clock.now());
    assert.throws(() => store.update(a.certPem, b.keyPem), /private key does not match/);
    store.update(a.certPem, a.keyPem);
    rmSync(join(dir, 'kubelet-server-current.pem'));
    writeFileSync(join(dir, 'kubelet-server-current.pem'), a.certPem + a.keyPem);
    assert.throws(() => store.update(a.certPem, a.keyPem), /expected ".*kubelet-server-current.pem" to be a symlink but it is a file/);
  });

  it('falls back to the fixed cert/key files', async () => {
    const clock = new FakeClock();
    const a = await generateSelfSignedCertKey('fixed', [], [], clock.now());
    writeFileSync(join(root, 'f.crt'), a.certPem);
    writeFileSync(join(root, 'f.key'), a.keyPem);
    const store = new FileStore({ dir: join(root, 'pki3'), pairNamePrefix: 'kubelet-server', clock, certFile: join(root, 'f.crt'), keyFile: join(root, 'f.key') });
    assert.match(store.current().commonName, /^fixed@/);
  });

  it('timestamps as upstream (2006-01-02-15-04-05)', () => {
    assert.equal(storeTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02-03-04-05');
  });
});

describe('self-signed serving certificate', () => {
  it('is <host>@<ts> issued by <host>-ca@<ts>, for the hostname and IPs, key 0600, reused on the next start', async () => {
    const clock = new FakeClock(Date.UTC(2026, 5, 1));
    const certDir = join(root, 'serving');
    const pair = await loadOrGenerateServingCert({ certDir, hostname: 'node-a', clock, alternateIPs: ['127.0.0.1', '10.1.2.3'] });
    const unix = Math.floor(clock.now() / 1000);
    assert.equal(pair.commonName, `node-a@${unix}`);
    assert.equal(pair.issuer, `CN=node-a-ca@${unix}`);
    assert.deepEqual(pair.dnsNames, ['node-a']);
    assert.deepEqual(pair.ipAddresses, ['127.0.0.1', '10.1.2.3']);
    assert.equal(pair.notBefore, clock.now() - 3600_000);
    assert.equal(pair.notAfter - pair.notBefore, 365 * 86_400_000);
    assert.equal(mode(join(certDir, 'kubelet.key')), 0o600);
    assert.equal(mode(join(certDir, 'kubelet.crt')), 0o644);
    assert.equal(pemBlocks(readFileSync(join(certDir, 'kubelet.crt'), 'utf8')).length, 2, 'cert then CA');
    const again = await loadOrGenerateServingCert({ certDir, hostname: 'node-a', clock });
    assert.equal(again.certPem, pair.certPem);
  });

  it('puts an IP hostname in the IP SANs', async () => {
    const pair = await loadOrGenerateServingCert({ certDir: join(root, 'serving-ip'), hostname: '192.168.1.5', clock: new FakeClock() });
    assert.deepEqual(pair.dnsNames, []);
    assert.deepEqual(pair.ipAddresses, ['192.168.1.5']);
  });
});
