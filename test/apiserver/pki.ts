// Test PKI of the test API server: a CA, the serving certificate, client certificates
// (CN = user, O = groups, as the apiserver's x509 authenticator reads them) and CSR signing for
// certificates.k8s.io (models pkg/controller/certificates/signer: the CA signs an approved CSR
// with the usages asked for). Uses the openssl CLI (no X.509 library is installed).
//
// Differences: certificate lifetimes are whole days (openssl 3.0 `x509 -days`), so a CSR's
// spec.expirationSeconds is rounded up to a day; keys are EC P-256.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface CA extends KeyPair {
  dir: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function subj(cn: string, orgs: string[]): string {
  const esc = (s: string): string => s.replace(/[/\\]/g, (c) => `\\${c}`);
  return `${orgs.map((o) => `/O=${esc(o)}`).join('')}/CN=${esc(cn)}`;
}

let serial = Date.now();

export function createCA(cn = 'nodelet-test-ca'): CA {
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-test-pki-'));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-subj', `/CN=${cn}`, '-days', '3650', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
  return { dir, cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
}

export interface SignOptions {
  usages?: string[];
  days?: number;
  dns?: string[];
  ips?: string[];
}

const usageMap: Record<string, { ku?: string; eku?: string }> = {
  'digital signature': { ku: 'digitalSignature' },
  'key encipherment': { ku: 'keyEncipherment' },
  'client auth': { eku: 'clientAuth' },
  'server auth': { eku: 'serverAuth' },
};

/** Signs a PEM CSR with the CA; the subject comes from the CSR. */
export function signCSR(ca: CA, csrPem: string, opts: SignOptions = {}): string {
  const dir = mkdtempSync(join(ca.dir, 'sign-'));
  try {
    writeFileSync(join(dir, 'req.csr'), csrPem);
    const usages = opts.usages ?? ['digital signature', 'key encipherment', 'client auth'];
    const ku = usages.map((u) => usageMap[u]?.ku).filter(Boolean);
    const eku = usages.map((u) => usageMap[u]?.eku).filter(Boolean);
    const ext = ['basicConstraints=critical,CA:FALSE'];
    if (ku.length) ext.push(`keyUsage=critical,${ku.join(',')}`);
    if (eku.length) ext.push(`extendedKeyUsage=${eku.join(',')}`);
    const san = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((i) => `IP:${i}`)];
    if (san.length) ext.push(`subjectAltName=${san.join(',')}`);
    writeFileSync(join(dir, 'ext.cnf'), `${ext.join('\n')}\n`);
    openssl(['x509', '-req', '-in', 'req.csr', '-CA', join(ca.dir, 'ca.crt'), '-CAkey', join(ca.dir, 'ca.key'), '-set_serial', String(serial++),
      '-days', String(opts.days ?? 365), '-extfile', 'ext.cnf', '-out', 'out.crt'], dir);
    return readFileSync(join(dir, 'out.crt'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A new key and a CSR for it (PEM), e.g. for a node's client certificate request. */
export function createKeyAndCSR(cn: string, orgs: string[] = [], dir = tmpdir()): { key: string; csr: string } {
  const d = mkdtempSync(join(dir, 'csr-'));
  try {
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'r.csr', '-subj', subj(cn, orgs)], d);
    return { key: readFileSync(join(d, 'k.pem'), 'utf8'), csr: readFileSync(join(d, 'r.csr'), 'utf8') };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

/** Issues a key and certificate signed by the CA. */
export function issueCert(ca: CA, cn: string, orgs: string[], opts: SignOptions = {}): KeyPair {
  const { key, csr } = createKeyAndCSR(cn, orgs, ca.dir);
  return { key, cert: signCSR(ca, csr, opts) };
}

export interface TestPKI {
  ca: CA;
  serving: KeyPair;
  admin: KeyPair;
  /** A client certificate for the user (memoized). */
  client(user: string, groups: string[]): KeyPair;
}

let shared: TestPKI | undefined;

/** One PKI per process (creating it costs ~50 ms of openssl runs). */
export function testPKI(): TestPKI {
  if (shared) return shared;
  const ca = createCA();
  const serving = issueCert(ca, 'kube-apiserver', [], { usages: ['digital signature', 'key encipherment', 'server auth'], dns: ['localhost', 'kubernetes', 'kubernetes.default'], ips: ['127.0.0.1', '::1'] });
  const admin = issueCert(ca, 'kubernetes-admin', ['system:masters']);
  const clients = new Map<string, KeyPair>();
  shared = {
    ca,
    serving,
    admin,
    client(user, groups) {
      const k = `${user}|${groups.join(',')}`;
      let kp = clients.get(k);
      if (!kp) {
        kp = issueCert(ca, user, groups);
        clients.set(k, kp);
      }
      return kp;
    },
  };
  process.on('exit', () => rmSync(ca.dir, { recursive: true, force: true }));
  return shared;
}
