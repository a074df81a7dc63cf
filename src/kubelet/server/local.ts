// The kubelet's local HTTP endpoints for standalone mode (models the healthz server on
// healthzBindAddress:healthzPort and the read-only handlers of pkg/kubelet/server):
//   /healthz, /healthz/{ping,syncloop,pleg}   as the kubelet answers them ("ok", or 500 with the failed checks)
//   /pods                                     a v1 PodList of the pods with their statuses
//   /metrics                                  Prometheus text, the kubelet's metric names
//   /events?namespace=&name=                  nodelet's own: recent events (standalone has no API server to keep them)
// Bound to 127.0.0.1 by default. In cluster mode this port answers /healthz only, as the
// kubelet's healthz port; everything else is served by the authenticated :10250 server (secure.ts)
// through handle() and handleUpgrade().

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { formatTime } from '../../api/podutil.js';
import type { Logger } from '../../util/logger.js';
import type { RecordedEvent } from '../events/index.js';

export interface LocalApiSource {
  getPods(): { pod: V1Pod; status: V1PodStatus | undefined }[];
  healthChecks(): { name: string; ok: boolean; message: string }[];
  listEvents(filter?: { name?: string; namespace?: string; uid?: string }): RecordedEvent[];
}

/** JSON as the API server writes it: times to the second (RFC 3339), no undefined fields. */
export function toKubeJSON(v: unknown): string {
  return JSON.stringify(v, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return formatTime(raw);
    return value;
  });
}

export function podList(src: LocalApiSource): object {
  return {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: {},
    items: src.getPods().map(({ pod, status }) => ({ ...pod, kind: 'Pod', apiVersion: 'v1', status: status ?? pod.status ?? {} })),
  };
}

/** A handler for the paths under a prefix (other modules' endpoints: logs, exec, ...). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
/** A handler for connection upgrades (SPDY/WebSocket streaming) under a prefix. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void | Promise<void>;

export class LocalServer {
  private server?: Server;
  private readonly routes: { prefix: string; handler: RouteHandler }[] = [];
  private readonly upgrades: { prefix: string; handler: UpgradeHandler }[] = [];

  constructor(
    private readonly src: LocalApiSource,
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {}

  /** Serves every method on `prefix` and the paths under it (`/containerLogs/`, `/run/`, ...). */
  addRoute(prefix: string, handler: RouteHandler): void {
    this.routes.push({ prefix, handler });
  }

  /** Takes over upgraded connections on `prefix` and the paths under it. */
  addUpgradeRoute(prefix: string, handler: UpgradeHandler): void {
    this.upgrades.push({ prefix, handler });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    const route = this.routes.find((r) => url.pathname === r.prefix || url.pathname.startsWith(r.prefix.endsWith('/') ? r.prefix : `${r.prefix}/`));
    if (route) {
      Promise.resolve(route.handler(req, res, url)).catch((e: unknown) => {
        this.logger.error('handler failed', { path: url.pathname, err: e });
        if (!res.headersSent) send(500, `${String((e as Error)?.message ?? e)}\n`);
        else res.end();
      });
      return;
    }
    if (req.method !== 'GET') return send(405, 'method not allowed\n');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path.startsWith('/healthz/')) {
      const checks = this.src.healthChecks();
      const one = path.slice('/healthz/'.length);
      if (one) {
        const c = checks.find((x) => x.name === one);
        if (!c) return send(404, `no such health check: ${one}\n`);
        return c.ok ? send(200, 'ok') : send(500, `internal server error: ${c.message}\n`);
      }
      const failed = checks.filter((c) => !c.ok);
      if (failed.length === 0 && url.searchParams.get('verbose') === null) return send(200, 'ok');
      const lines = checks.map((c) => (c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: reason withheld`)).join('\n');
      const detail = failed.map((c) => `${c.name} check failed: ${c.message}`).join('\n');
      return send(failed.length ? 500 : 200, `${lines}\n${failed.length ? `healthz check failed\n${detail}\n` : 'healthz check passed\n'}`);
    }
    if (path === '/pods') return send(200, toKubeJSON(podList(this.src)), 'application/json');
    if (path === '/events') {
      const f: { name?: string; namespace?: string; uid?: string } = {};
      for (const k of ['name', 'namespace', 'uid'] as const) {
        const v = url.searchParams.get(k);
        if (v) f[k] = v;
      }
      const items = this.src.listEvents(f).map((e) => ({ ...e, firstTimestamp: new Date(e.firstTimestamp), lastTimestamp: new Date(e.lastTimestamp) }));
      return send(200, toKubeJSON({ kind: 'EventList', apiVersion: 'v1', items }), 'application/json');
    }
    if (path === '/metrics') {
      void this.registry.metrics().then(
        (text) => send(200, text, this.registry.contentType),
        (e: unknown) => send(500, String(e)),
      );
      return;
    }
    send(404, '404 page not found\n');
  }

  /**
   * Hands an upgrade request to its upgrade route (404 on the socket when none), as listen()'s
   * 'upgrade' listener does; for other servers in front of these routes (the secure :10250 one).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const up = this.upgrades.find((r) => url.pathname === r.prefix || url.pathname.startsWith(r.prefix.endsWith('/') ? r.prefix : `${r.prefix}/`));
    if (!up) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    Promise.resolve(up.handler(req, socket, head, url)).catch((e: unknown) => {
      this.logger.error('upgrade handler failed', { path: url.pathname, err: e });
      socket.destroy();
    });
  }

  /**
   * Serves on host:port. healthzOnly (cluster mode, where the authenticated :10250 server has
   * the rest): only /healthz, as the kubelet's healthz port.
   */
  listen(port: number, host = '127.0.0.1', opts: { healthzOnly?: boolean } = {}): Promise<number> {
    const isHealthz = (url: string | undefined): boolean => /^\/healthz(\/|\?|$)/.test(url ?? '');
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        try {
          if (opts.healthzOnly && !isHealthz(req.url)) {
            res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
            res.end('404 page not found\n');
            return;
          }
          this.handle(req, res);
        } catch (e) {
          this.logger.error('local API handler failed', { path: req.url, err: e });
          if (!res.headersSent) res.writeHead(500);
          res.end();
        }
      });
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (opts.healthzOnly) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        else this.handleUpgrade(req, socket, head);
      });
      server.once('error', reject);
      server.listen(port, host, () => {
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
