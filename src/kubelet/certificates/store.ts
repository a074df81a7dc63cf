// Certificate store (models k8s.io/client-go/util/certificate/certificate_store.go fileStore):
// `<prefix>-<YYYY-MM-DD-HH-MM-SS>.pem` holds the certificate (leaf + intermediates) and the
// private key; `<prefix>-current.pem` is a symlink to the newest one, swapped atomically by
// creating `<prefix>-updated.pem` and renaming it over `-current`. An optional fixed cert/key
// pair (--tls-cert-file / --tls-private-key-file) is the fallback when there is no current pair.
//
// Differences: the directory is created 0700 (upstream MkdirAll 0755) and every pem is written
// through a temporary file + rename (upstream truncates in place); timestamps are UTC.

import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../util/clock.js';
import { checkKeyPair, parseCert, pemBlocks, type CertInfo } from './pki.js';

/** A certificate with its key, as the manager hands it out. */
export interface KeyPairInfo extends CertInfo {
  certPem: string;
  keyPem: string;
  /** The file it was loaded from / stored in (the timestamped pem, or the fixed cert file). */
  path: string;
}

export class NoCertKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoCertKeyError';
  }
}

/** `2006-01-02-15-04-05` of a time (UTC). */
export function storeTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}`;
}

export function storeFileName(prefix: string, qualifier: string): string {
  return `${prefix}-${qualifier}.pem`;
}

/** Writes data to path with mode via a temporary file and rename (atomic for readers). */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Parses and checks a cert/key pair (tls.X509KeyPair + leaf parse). */
export function keyPairInfo(certPem: string, keyPem: string, path: string): KeyPairInfo {
  checkKeyPair(certPem, keyPem);
  return { ...parseCert(certPem), certPem, keyPem, path };
}

export interface FileStoreOptions {
  /** The pki directory (`<root-dir>/pki`). */
  dir: string;
  /** `kubelet-client` or `kubelet-server`. */
  pairNamePrefix: string;
  clock: Clock;
  /** A fixed pair used when there is no current one (--tls-cert-file / --tls-private-key-file). */
  certFile?: string;
  keyFile?: string;
}

export class FileStore {
  constructor(private readonly opts: FileStoreOptions) {}

  /** `<dir>/<prefix>-current.pem`: what kubeconfigs and the TLS server point at. */
  currentPath(): string {
    return join(this.opts.dir, storeFileName(this.opts.pairNamePrefix, 'current'));
  }

  /** The current pair; throws NoCertKeyError when there is none, other errors when it is unreadable. */
  current(): KeyPairInfo {
    const cur = this.currentPath();
    let text: string | undefined;
    try {
      text = readFileSync(cur, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      try {
        return keyPairInfo(text, text, cur);
      } catch (err) {
        throw new Error(`could not convert data from "${cur}" into cert/key pair: ${(err as Error).message}`);
      }
    }
    const { certFile, keyFile } = this.opts;
    if (certFile && keyFile) {
      try {
        return keyPairInfo(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'), certFile);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    throw new NoCertKeyError(`no cert/key files read at "${cur}"${certFile ? `, ("${certFile}", "${keyFile ?? ''}")` : ''}`);
  }

  /** The current pair, or undefined when there is none. */
  tryCurrent(): KeyPairInfo | undefined {
    try {
      return this.current();
    } catch (err) {
      if (err instanceof NoCertKeyError) return undefined;
      throw err;
    }
  }

  /** Stores a new pair in a timestamped file (0600) and points `-current` at it. */
  update(certPem: string, keyPem: string): KeyPairInfo {
    const certs = pemBlocks(certPem).filter((b) => b.type === 'CERTIFICATE');
    const key = pemBlocks(keyPem).find((b) => b.type.endsWith('PRIVATE KEY'));
    if (!certs.length) throw new Error('invalid certificate data: no CERTIFICATE block');
    if (!key) throw new Error('invalid key data: no PRIVATE KEY block');
    const data = certs.map((b) => b.text).join('') + key.text;
    const info = keyPairInfo(data, data, '');
    const { dir, pairNamePrefix } = this.opts;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(`could not create directory "${dir}" to store certificates: ${(err as Error).message}`);
    }
    const path = join(dir, storeFileName(pairNamePrefix, storeTimestamp(this.opts.clock.now())));
    writeFileAtomic(path, data, 0o600);
    this.updateSymlink(path);
    return { ...info, path };
  }

  private updateSymlink(target: string): void {
    const cur = this.currentPath();
    try {
      if (!lstatSync(cur).isSymbolicLink()) throw new Error(`expected "${cur}" to be a symlink but it is a file`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const updated = join(this.opts.dir, storeFileName(this.opts.pairNamePrefix, 'updated'));
    rmSync(updated, { force: true });
    symlinkSync(target, updated);
    renameSync(updated, cur);
  }
}
