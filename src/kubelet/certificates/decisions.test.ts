import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressesToHostnamesAndIPs, certSatisfiesTemplate, csrOutcome, kubeletClientUsages, kubeletServingUsages, nextRotationDeadline, rotationRetryDelay, servingTemplate } from './decisions.js';
import type { CertInfo } from './pki.js';

const day = 86_400_000;

describe('nextRotationDeadline', () => {
  const nb = Date.UTC(2026, 0, 1);
  const na = nb + 100 * day;
  for (const [r, pct] of [[0, 70], [0.25, 75], [0.5, 80], [0.999999, 90]] as const) {
    it(`random ${r} → ${pct} % of the validity`, () => {
      const d = nextRotationDeadline(nb, na, () => r);
      assert.ok(Math.abs(d - (nb + (pct / 100) * 100 * day)) < 60_000, `${(d - nb) / day} days`);
    });
  }
  it('always lies within 70..90 %', () => {
    for (let i = 0; i < 1000; i++) {
      const d = nextRotationDeadline(nb, na, Math.random);
      assert.ok(d >= nb + 70 * day && d <= nb + 90 * day);
    }
  });
});

describe('usages', () => {
  it('key encipherment only for RSA keys', () => {
    assert.deepEqual(kubeletClientUsages('ec'), ['digital signature', 'client auth']);
    assert.deepEqual(kubeletClientUsages('rsa'), ['key encipherment', 'digital signature', 'client auth']);
    assert.deepEqual(kubeletServingUsages('ec'), ['digital signature', 'server auth']);
    assert.deepEqual(kubeletServingUsages('rsa'), ['key encipherment', 'digital signature', 'server auth']);
  });
});

describe('csrOutcome', () => {
  const b64 = Buffer.from('PEM').toString('base64');
  const table: [string, Parameters<typeof csrOutcome>[0], string][] = [
    ['no status', { metadata: { name: 'c' } }, 'pending'],
    ['approved, not issued', { status: { conditions: [{ type: 'Approved', status: 'True' }] } }, 'pending'],
    ['issued', { status: { certificate: b64, conditions: [{ type: 'Approved', status: 'True' }] } }, 'issued'],
    ['certificate without approval', { status: { certificate: b64 } }, 'pending'],
    ['denied', { metadata: { name: 'c' }, status: { conditions: [{ type: 'Denied', status: 'True', reason: 'Nope', message: 'not you' }] } }, 'denied'],
    ['failed', { status: { conditions: [{ type: 'Approved', status: 'True' }, { type: 'Failed', status: 'True', reason: 'SignerFailure' }] } }, 'failed'],
  ];
  for (const [name, csr, state] of table) it(name, () => assert.equal(csrOutcome(csr).state, state));
  it('names the CSR, the reason and the message when denied', () => {
    const o = csrOutcome({ metadata: { name: 'node-csr-x' }, status: { conditions: [{ type: 'Denied', status: 'True', reason: 'Nope', message: 'not you' }] } });
    assert.equal(o.state === 'denied' && o.message, 'certificate signing request node-csr-x is denied, reason: Nope, message: not you');
    const i = csrOutcome({ status: { certificate: b64, conditions: [{ type: 'Approved', status: 'True' }] } });
    assert.equal(i.state === 'issued' && i.certPem, 'PEM');
  });
});

describe('certSatisfiesTemplate', () => {
  const cert: CertInfo = { commonName: 'system:node:n1', organizations: ['system:nodes'], dnsNames: ['n1', 'extra'], ipAddresses: ['10.0.0.1', '::1'], notBefore: 0, notAfter: 1, issuer: '' };
  const t = { commonName: 'system:node:n1', organizations: ['system:nodes'] };
  const table: [string, Parameters<typeof certSatisfiesTemplate>[1], boolean][] = [
    ['same subject', t, true],
    ['no template', undefined, true],
    ['other CN', { ...t, commonName: 'system:node:n2' }, false],
    ['missing org', { ...t, organizations: ['system:nodes', 'x'] }, false],
    ['DNS names covered (extra ones fine)', { ...t, dnsNames: ['n1'] }, true],
    ['missing DNS name', { ...t, dnsNames: ['n2'] }, false],
    ['IPs covered, IPv6 in another spelling', { ...t, ipAddresses: ['10.0.0.1', '0:0:0:0:0:0:0:1'] }, true],
    ['missing IP', { ...t, ipAddresses: ['10.0.0.2'] }, false],
  ];
  for (const [name, tmpl, ok] of table) it(name, () => assert.equal(certSatisfiesTemplate(cert, tmpl).ok, ok));
  it('no certificate never satisfies', () => assert.equal(certSatisfiesTemplate(undefined, t).ok, false));
});

describe('serving template', () => {
  it('takes DNS names and IPs from the node addresses, sorted and deduplicated', () => {
    const a = [
      { type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n1' }, { type: 'ExternalIP', address: '1.2.3.4' },
      { type: 'InternalDNS', address: 'n1.internal' }, { type: 'InternalIP', address: '10.0.0.2' }, { type: 'InternalIP', address: 'bogus' },
    ];
    assert.deepEqual(addressesToHostnamesAndIPs(a), { dnsNames: ['n1', 'n1.internal'], ipAddresses: ['1.2.3.4', '10.0.0.2'] });
    assert.deepEqual(servingTemplate('n1', a), { commonName: 'system:node:n1', organizations: ['system:nodes'], dnsNames: ['n1', 'n1.internal'], ipAddresses: ['1.2.3.4', '10.0.0.2'] });
    assert.equal(servingTemplate('n1', []), undefined);
  });
});

describe('rotationRetryDelay', () => {
  it('2, 4, 8, 16 s (+ up to 10 % jitter), then every 32 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 9].map((f) => rotationRetryDelay(f, () => 0)), [2000, 4000, 8000, 16000, 32000, 32000]);
    assert.equal(rotationRetryDelay(1, () => 0.99), 2198);
  });
});
