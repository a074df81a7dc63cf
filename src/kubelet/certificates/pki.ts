// X.509 helpers of the CertificateManager (models k8s.io/client-go/util/cert and util/keyutil:
// GenerateSelfSignedCertKey, MakeEllipticPrivateKeyPEM, x509.CreateCertificateRequest; and
// client-go/util/certificate/csr digestedName). Keys come from WebCrypto; certificates and
// CSRs are built with @peculiar/x509; PEM re-encoding (SEC1 / PKCS#1) uses node:crypto.
//
// Differences: none in what is written. Parsing uses @peculiar/x509 for names and SANs and
// node:crypto for the key-matches-certificate check (the equivalent of tls.X509KeyPair).

import { createHash, createPrivateKey, createPublicKey, X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 registers its algorithms through tsyringe, which needs the Reflect metadata API
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type KeyPair = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'];

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ecAlg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ecSign = { name: 'ECDSA', hash: 'SHA-256' } as const;
const rsaAlg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;

/** A private key in both forms: PEM for files, a WebCrypto pair for signing. */
export interface KeyMaterial {
  keyPem: string;
  keys: KeyPair;
  type: 'ec' | 'rsa';
}

/** Parsed facts of a certificate (the leaf, first block of a PEM). */
export interface CertInfo {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: number;
  notAfter: number;
  issuer: string;
}

export interface CertTemplate {
  commonName: string;
  organizations: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
}

export const pemBlocks = (pem: string): { type: string; text: string }[] =>
  [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].map((m) => ({ type: m[1]!, text: `${m[0]}\n` }));

async function toKeyMaterial(pkcs8: ArrayBuffer | Buffer, type: 'ec' | 'rsa'): Promise<KeyMaterial> {
  const keyObj = createPrivateKey({ key: Buffer.from(pkcs8 as ArrayBuffer), format: 'der', type: 'pkcs8' });
  const keyPem = keyObj.export({ type: type === 'ec' ? 'sec1' : 'pkcs1', format: 'pem' }) as string;
  const alg = type === 'ec' ? ecAlg : rsaAlg;
  const spki = createPublicKey(keyObj).export({ type: 'spki', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', Buffer.from(pkcs8 as ArrayBuffer), alg, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  return { keyPem, keys: { privateKey, publicKey } as unknown as KeyPair, type };
}

/** A new ECDSA P-256 key (the kubelet's key type for CSRs). */
export async function generateECKey(): Promise<KeyMaterial> {
  const pair = await webcrypto.subtle.generateKey(ecAlg, true, ['sign', 'verify']);
  return toKeyMaterial(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey), 'ec');
}

async function generateRSAKey(): Promise<KeyMaterial> {
  const pair = await webcrypto.subtle.generateKey(rsaAlg, true, ['sign', 'verify']);
  return toKeyMaterial(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey), 'rsa');
}

/** Loads a PEM private key (SEC1, PKCS#1 or PKCS#8); throws if it is not a usable EC or RSA key. */
export async function loadKey(keyPem: string): Promise<KeyMaterial> {
  const k = createPrivateKey(keyPem);
  const type = k.asymmetricKeyType;
  if (type !== 'ec' && type !== 'rsa') throw new Error(`unsupported private key type ${String(type)}`);
  return toKeyMaterial(k.export({ type: 'pkcs8', format: 'der' }), type);
}

function jsonName(cn: string, orgs: string[]): x509.JsonName {
  // Go's pkix.Name order: O before CN.
  return [...(orgs.length ? [{ O: orgs }] : []), { CN: [cn] }];
}

function sanExtension(dns: string[], ips: string[]): x509.Extension[] {
  const names = [...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))];
  return names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [];
}

/** A PEM CERTIFICATE REQUEST for the template, signed by the key. */
export async function createCSR(template: CertTemplate, key: KeyMaterial): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: jsonName(template.commonName, template.organizations),
    keys: key.keys,
    signingAlgorithm: key.type === 'ec' ? ecSign : rsaAlg,
    extensions: sanExtension(template.dnsNames ?? [], template.ipAddresses ?? []),
  });
  return csr.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

/** Parses the first certificate of a PEM. */
export function parseCert(pem: string): CertInfo {
  const block = pemBlocks(pem).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw new Error('no CERTIFICATE block found');
  const c = new x509.X509Certificate(block.text);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san ? san.names.toJSON() : [];
  return {
    commonName: c.subjectName.getField('CN')[0] ?? '',
    organizations: c.subjectName.getField('O'),
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
    notBefore: c.notBefore.getTime(),
    notAfter: c.notAfter.getTime(),
    issuer: c.issuer,
  };
}

/** Throws unless keyPem is the private key of the first certificate in certPem (tls.X509KeyPair). */
export function checkKeyPair(certPem: string, keyPem: string): void {
  const block = pemBlocks(certPem).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw new Error('no CERTIFICATE block found');
  const keyBlock = pemBlocks(keyPem).find((b) => b.type.endsWith('PRIVATE KEY'));
  if (!keyBlock) throw new Error('no PRIVATE KEY block found');
  if (!new NodeX509(block.text).checkPrivateKey(createPrivateKey(keyBlock.text))) throw new Error('private key does not match public key');
}

/** The name the kubelet gives its bootstrap CSR, so that a restart finds the same request (csr.go digestedName). */
export function digestedName(publicKeySpkiDer: Uint8Array, template: CertTemplate, usages: string[]): string {
  const h = createHash('sha512-256');
  const write = (data: Uint8Array | string): void => {
    h.update(Buffer.from(data).toString('base64url'));
    h.update('|');
  };
  write(publicKeySpkiDer);
  write(template.commonName);
  for (const o of template.organizations) write(o);
  for (const u of usages) write(u);
  return `node-csr-${h.digest('base64url')}`;
}

export async function publicKeyDer(key: KeyMaterial): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));
}

/**
 * A self-signed serving certificate as the kubelet makes one (certutil.GenerateSelfSignedCertKey):
 * a CA `<host>-ca@<unix>` and a cert `<host>@<unix>` for host (+ alternate IPs / DNS names),
 * RSA 2048, valid from an hour ago for a year. The PEM holds the cert then the CA.
 */
export async function generateSelfSignedCertKey(host: string, alternateIPs: string[], alternateDNS: string[], nowMs: number): Promise<{ certPem: string; keyPem: string }> {
  const validFrom = new Date(nowMs - 3600_000);
  const validTo = new Date(validFrom.getTime() + 365 * 24 * 3600_000);
  const unix = Math.floor(nowMs / 1000);
  const caKey = await generateRSAKey();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: [{ CN: [`${host}-ca@${unix}`] }], notBefore: validFrom, notAfter: validTo, keys: caKey.keys, signingAlgorithm: rsaAlg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const key = await generateRSAKey();
  const ips = isIP(host) ? [host, ...alternateIPs] : alternateIPs;
  const dns = isIP(host) ? alternateDNS : [host, ...alternateDNS];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02', subject: [{ CN: [`${host}@${unix}`] }], issuer: ca.subjectName, notBefore: validFrom, notAfter: validTo,
    publicKey: key.keys.publicKey, signingKey: caKey.keys.privateKey, signingAlgorithm: rsaAlg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...sanExtension(dns, ips),
    ],
  });
  const pem = (c: x509.X509Certificate): string => c.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
  return { certPem: pem(cert) + pem(ca), keyPem: key.keyPem };
}

/** The public key (base64 SPKI) and subject of a PEM CSR, to tell whether two CSRs ask for the same thing. */
export function csrIdentity(csrPem: string): { publicKey: string; subject: string } {
  const req = new x509.Pkcs10CertificateRequest(csrPem);
  return { publicKey: Buffer.from(req.publicKey.rawData).toString('base64'), subject: req.subject };
}
