// Pure decisions of the CertificateManager (models client-go/util/certificate
// certificate_manager.go nextRotationDeadline / jitteryDuration / certSatisfiesTemplateLocked,
// DefaultKubeletClientGetUsages / DefaultKubeletServingGetUsages, the rotation backoff of
// run(); client-go/util/certificate/csr WaitForCertificate's reading of a CSR's conditions;
// pkg/kubelet/certificate kubelet.go addressesToHostnamesAndIPs).

import { isIP } from 'node:net';
import type { CertInfo, CertTemplate } from './pki.js';

export const KubeAPIServerClientKubeletSignerName = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KubeletServingSignerName = 'kubernetes.io/kubelet-serving';

/**
 * When to rotate: notBefore + (70 % .. 90 %) of the validity (wait.Jitter(d, 0.2) - 0.3 d).
 * `random` returns [0, 1).
 */
export function nextRotationDeadline(notBefore: number, notAfter: number, random: () => number): number {
  const total = notAfter - notBefore;
  return notBefore + Math.floor(total * (0.7 + 0.2 * random()));
}

/** Client certificate usages: key encipherment only for RSA keys. */
export function kubeletClientUsages(keyType: 'ec' | 'rsa'): string[] {
  return keyType === 'rsa' ? ['key encipherment', 'digital signature', 'client auth'] : ['digital signature', 'client auth'];
}

/** Serving certificate usages: key encipherment only for RSA keys. */
export function kubeletServingUsages(keyType: 'ec' | 'rsa'): string[] {
  return keyType === 'rsa' ? ['key encipherment', 'digital signature', 'server auth'] : ['digital signature', 'server auth'];
}

/**
 * Whether the certificate still satisfies the template: same CN, and no DNS name, IP or
 * organization of the template missing (extra ones in the certificate are fine). Returns the
 * reason when it does not.
 */
export function certSatisfiesTemplate(cert: CertInfo | undefined, template: CertTemplate | undefined): { ok: boolean; reason?: string } {
  if (!cert) return { ok: false, reason: 'no certificate' };
  if (!template) return { ok: true };
  if (template.commonName !== cert.commonName) return { ok: false, reason: `Current certificate CN (${cert.commonName}) does not match requested CN (${template.commonName})` };
  const missing = (want: string[] | undefined, have: string[]): string[] => [...new Set(want ?? [])].filter((x) => !have.includes(x)).sort();
  const dns = missing(template.dnsNames, cert.dnsNames);
  if (dns.length) return { ok: false, reason: `Current certificate is missing requested DNS names ${dns.join(', ')}` };
  const ips = missing((template.ipAddresses ?? []).map(normalizeIP), cert.ipAddresses.map(normalizeIP));
  if (ips.length) return { ok: false, reason: `Current certificate is missing requested IP addresses ${ips.join(', ')}` };
  const orgs = missing(template.organizations, cert.organizations);
  if (orgs.length) return { ok: false, reason: `Current certificate is missing requested orgs ${orgs.join(', ')}` };
  return { ok: true };
}

function normalizeIP(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  // Compare IPv6 addresses in one canonical form.
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

export interface NodeAddress {
  type: string;
  address: string;
}

/** DNS names (Hostname, ExternalDNS, InternalDNS) and IPs (InternalIP, ExternalIP) of a node, deduplicated and sorted. */
export function addressesToHostnamesAndIPs(addresses: NodeAddress[]): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const a of addresses) {
    if (!a.address) continue;
    if (a.type === 'Hostname' || a.type === 'ExternalDNS' || a.type === 'InternalDNS') dns.add(a.address);
    else if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && isIP(a.address)) ips.add(a.address);
  }
  return { dnsNames: [...dns].sort(), ipAddresses: [...ips].sort() };
}

/** The serving certificate template of a node: undefined while it has no address to request for. */
export function servingTemplate(nodeName: string, addresses: NodeAddress[]): CertTemplate | undefined {
  const { dnsNames, ipAddresses } = addressesToHostnamesAndIPs(addresses);
  if (!dnsNames.length && !ipAddresses.length) return undefined;
  return { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], dnsNames, ipAddresses };
}

export function clientTemplate(nodeName: string): CertTemplate {
  return { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] };
}

export interface CSRLike {
  metadata?: { name?: string; uid?: string };
  status?: { certificate?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

export type CSROutcome =
  | { state: 'pending'; approved: boolean }
  | { state: 'issued'; certPem: string }
  | { state: 'denied' | 'failed'; message: string };

/** What a CSR object says (WaitForCertificate): denied / failed / issued / still pending. */
export function csrOutcome(csr: CSRLike): CSROutcome {
  const conds = csr.status?.conditions ?? [];
  const name = csr.metadata?.name ?? '';
  for (const c of conds) {
    if (c.status === 'False') continue;
    if (c.type === 'Denied') return { state: 'denied', message: `certificate signing request ${name} is denied, reason: ${c.reason ?? ''}, message: ${c.message ?? ''}` };
    if (c.type === 'Failed') return { state: 'failed', message: `certificate signing request ${name} failed, reason: ${c.reason ?? ''}, message: ${c.message ?? ''}` };
  }
  const approved = conds.some((c) => c.type === 'Approved' && c.status !== 'False');
  if (approved && csr.status?.certificate) {
    return { state: 'issued', certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8') };
  }
  return { state: 'pending', approved };
}

/**
 * Delay before the next rotation attempt after `failures` failed ones: 2 s doubling with 10 %
 * jitter for the first 4 retries (wait.Backoff{2s, x2, 0.1, 5 steps}), then every 32 s.
 */
export function rotationRetryDelay(failures: number, random: () => number): number {
  if (failures >= 5) return 32_000;
  const base = 2000 * 2 ** Math.max(0, failures - 1);
  return Math.round(base * (1 + 0.1 * random()));
}

/** Whether a certificate is expired at `now`. */
export function isExpired(cert: Pick<CertInfo, 'notAfter'>, now: number): boolean {
  return now > cert.notAfter;
}
