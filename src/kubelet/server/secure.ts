// The kubelet's secure API server on address:port (0.0.0.0:10250) (models
// pkg/kubelet/server/server.go ListenAndServeKubeletServer with the auth filter that NewServer
// installs on every handler, /healthz included; cmd/kubelet/app/server.go InitializeTLS: the
// client CA bundle asked for but not enforced at the TLS layer (tls.RequestClientCert), the
// serving certificate taken per connection so a rotated one is used without a restart, and
// dynamiccertificates.DynamicFileCAContent: the client CA file re-read every minute).
//
// Every request, connection upgrades (exec/attach/portForward over SPDY or WebSocket) included,
// is authenticated and authorized before the wrapped handler sees it; a refused upgrade gets
// its 401/403/500 as an HTTP response on the raw socket.
//
// Differences: the serving certificate is swapped with setSecureContext when the source reports
// a rotation (upstream calls GetCertificate on each handshake); with no certificate yet,
// handshakes fail until the first one arrives. The client CA file is polled on the Clock (no
// fsnotify). No HTTP/2 (Node's https server is HTTP/1.1 only).

import { readFileSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContextOptions, type SecureVersion, type TLSSocket } from 'node:tls';
import type { Timer } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { ServingCertificateSource } from '../certificates/serving.js';
import type { KeyPairInfo } from '../certificates/store.js';
import { buildKubeletAuth, type ClientCertificate, type FilterResult, type KubeletAuth, type KubeletAuthOptions } from './auth.js';

/** What the secure server wraps (LocalServer has both). */
export interface SecureHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface SecureServerOptions extends Omit<KubeletAuthOptions, 'clientCertificates'> {
  /** KubeletConfiguration address (default 0.0.0.0). */
  address: string;
  /** KubeletConfiguration port (default 10250; 0: any free port). */
  port: number;
  /** The serving certificate (tlsCertFile/tlsPrivateKeyFile, self-signed, or the serverTLSBootstrap manager). */
  tls: ServingCertificateSource;
  /** authentication.x509.clientCAFile; empty or absent: no client certificates are asked for. */
  clientCAFile?: string;
  /** tlsMinVersion (VersionTLS12, VersionTLS13, ...); default Node's (TLS 1.2). */
  tlsMinVersion?: string;
  handler: SecureHandler;
  /** How often the client CA file is re-read (default 60 s, as DynamicFileCAContent). */
  clientCAReloadIntervalMs?: number;
}

const tlsVersions: Record<string, SecureVersion> = { VersionTLS10: 'TLSv1', VersionTLS11: 'TLSv1.1', VersionTLS12: 'TLSv1.2', VersionTLS13: 'TLSv1.3' };

/** Node's name of a KubeletConfiguration tlsMinVersion. */
export function tlsVersion(name: string): SecureVersion {
  const v = tlsVersions[name];
  if (!v) throw new Error(`unknown tls version "${name}" (valid: ${Object.keys(tlsVersions).join(', ')})`);
  return v;
}

const first = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));
const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The client certificate of a TLS connection as the authenticator reads it (undefined: none presented). */
export function peerClientCertificate(sock: TLSSocket): ClientCertificate | undefined {
  const c = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
  if (!c || Object.keys(c).length === 0) return undefined;
  const subject = c.subject as Record<string, string | string[] | undefined> | undefined;
  const err = sock.authorizationError as unknown;
  return {
    verified: sock.authorized,
    ...(err ? { verifyError: err instanceof Error ? err.message : String(err) } : {}),
    commonName: first(subject?.CN),
    organizations: all(subject?.O),
    ...(c.serialNumber ? { serialNumber: c.serialNumber } : {}),
  };
}

/** A plain HTTP response for a socket taken over by an upgrade. */
export function rawHttpResponse(status: number, body: string): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export class SecureServer {
  readonly auth: KubeletAuth;
  private server?: Server;
  private clientCAPem = '';
  private readonly sockets = new Set<Socket>();
  private unsubscribe?: () => void;
  private reloadTimer?: Timer;
  private readonly logger: Logger;
  private readonly minVersion?: SecureVersion;

  constructor(private readonly opts: SecureServerOptions) {
    this.logger = opts.logger ?? nopLogger;
    if (opts.tlsMinVersion) this.minVersion = tlsVersion(opts.tlsMinVersion);
    this.auth = buildKubeletAuth({ ...opts, clientCertificates: !!opts.clientCAFile });
  }

  /** Starts listening; resolves with the port. Rejects when the client CA file cannot be loaded or the port is taken. */
  async listen(): Promise<number> {
    if (this.opts.clientCAFile) this.clientCAPem = this.loadClientCA(this.opts.clientCAFile);
    const pair = this.opts.tls.current();
    if (!pair) this.logger.warn('no serving certificate available for the kubelet yet; TLS handshakes fail until one is issued');
    const server = createServer({ ...this.contextOptions(pair), requestCert: !!this.opts.clientCAFile, rejectUnauthorized: false }, (req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 90_000;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('tlsClientError', (err: Error) => this.logger.debug('TLS handshake error', { err }));
    this.unsubscribe = this.opts.tls.onRotate((c) => {
      server.setSecureContext(this.contextOptions(c));
      this.logger.info('serving certificate rotated', { commonName: c.commonName, notAfter: new Date(c.notAfter).toISOString() });
    });
    const port = await new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.unsubscribe?.();
        reject(err);
      };
      server.once('error', onError);
      server.listen(this.opts.port, this.opts.address, () => {
        server.off('error', onError);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.opts.port);
      });
    });
    server.on('error', (err) => this.logger.error('kubelet server error', { err }));
    this.server = server;
    if (this.opts.clientCAFile) this.reloadTimer = this.opts.clock.setInterval(() => this.reloadClientCA(), this.opts.clientCAReloadIntervalMs ?? 60_000);
    this.logger.info('Starting to listen', { address: this.opts.address, port });
    return port;
  }

  /**
   * Re-reads the client CA file; a changed, valid bundle applies to new connections. Returns
   * whether it changed. A file that cannot be read or parsed keeps the bundle in use.
   */
  reloadClientCA(): boolean {
    const file = this.opts.clientCAFile;
    if (!file || !this.server) return false;
    let pem: string;
    try {
      pem = this.loadClientCA(file);
    } catch (err) {
      this.logger.error('unable to reload the client CA file; keeping the previous bundle', { file, err });
      return false;
    }
    if (pem === this.clientCAPem) return false;
    this.clientCAPem = pem;
    this.server.setSecureContext(this.contextOptions(this.opts.tls.current()));
    this.logger.info('loaded a new client CA bundle', { file });
    return true;
  }

  close(): Promise<void> {
    this.unsubscribe?.();
    this.reloadTimer?.stop();
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private loadClientCA(file: string): string {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`unable to load client CA file ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new Error(`unable to load client CA file ${file}: no certificate found`);
    try {
      createSecureContext({ ca: pem });
    } catch (err) {
      throw new Error(`unable to load client CA file ${file}: ${(err as Error).message}`, { cause: err });
    }
    return pem;
  }

  private contextOptions(pair: KeyPairInfo | undefined): SecureContextOptions {
    return {
      ...(pair ? { key: pair.keyPem, cert: pair.certPem } : {}),
      ...(this.clientCAPem ? { ca: this.clientCAPem } : {}),
      ...(this.minVersion ? { minVersion: this.minVersion } : {}),
    };
  }

  private check(req: IncomingMessage): Promise<FilterResult> {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = req.url ?? '/';
    }
    const clientCertificate = peerClientCertificate(req.socket as TLSSocket);
    return this.auth.check({ method: req.method ?? '', path, headers: req.headers, ...(clientCertificate ? { clientCertificate } : {}) });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.check(req).then(
      (r) => {
        if (!r.ok) {
          res.writeHead(r.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(r.body) });
          res.end(r.body);
          return;
        }
        this.opts.handler.handle(req, res);
      },
      (err: unknown) => {
        this.logger.error('kubelet API request failed', { path: req.url, err });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end();
      },
    ).catch((err: unknown) => {
      this.logger.error('kubelet API handler failed', { path: req.url, err });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // the socket is ours until handed over; an error while authorizing must not go unhandled
    socket.on('error', (err) => {
      this.logger.debug('kubelet API upgrade connection error', { path: req.url, err });
      socket.destroy();
    });
    this.check(req).then(
      (r) => {
        if (socket.destroyed) return;
        if (!r.ok) {
          socket.end(rawHttpResponse(r.status, r.body));
          return;
        }
        this.opts.handler.handleUpgrade(req, socket, head);
      },
      (err: unknown) => {
        this.logger.error('kubelet API upgrade request failed', { path: req.url, err });
        socket.end(rawHttpResponse(500, ''));
      },
    ).catch((err: unknown) => {
      this.logger.error('kubelet API upgrade handler failed', { path: req.url, err });
      socket.destroy();
    });
  }
}
