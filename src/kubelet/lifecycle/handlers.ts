// Lifecycle hook handlers (models pkg/kubelet/lifecycle/handlers.go HandlerRunner): postStart and
// preStop actions of a container: exec (through CRI ExecSync), httpGet (host defaults to the pod
// IP, port by number or name, the kubelet's User-Agent) and sleep (on the Clock).
//
// Differences: httpGet hooks do not follow redirects (upstream follows like its probes).

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { V1Container, V1LifecycleHandler } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import type { Runtime } from '../../runtime/index.js';

export interface HookContext {
  runtime: Runtime;
  clock: Clock;
  containerId: string;
  container: V1Container;
  podIP: string;
  /** Aborts the hook (e.g. a preStop past the grace period). */
  signal?: AbortSignal;
  /** Timeout for exec/http actions, seconds (0 = none). */
  timeoutSeconds?: number;
}

export class HookError extends Error {}

function resolvePort(port: number | string | undefined, c: V1Container): number {
  if (typeof port === 'number') return port;
  if (port === undefined) throw new HookError('httpGet hook without a port');
  if (/^\d+$/.test(port)) return Number(port);
  const named = c.ports?.find((p) => p.name === port);
  if (!named) throw new HookError(`couldn't find port: ${port} in ${c.name}`);
  return named.containerPort;
}

function httpGet(url: URL, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', headers, timeout: timeoutMs || undefined, rejectUnauthorized: false, signal },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Runs one handler; resolves with a message of what ran, rejects with HookError saying what failed. */
export async function runHandler(h: V1LifecycleHandler, ctx: HookContext): Promise<string> {
  if (h.exec) {
    const cmd = h.exec.command ?? [];
    let r;
    try {
      r = await ctx.runtime.execSync(ctx.containerId, cmd, ctx.timeoutSeconds ?? 0);
    } catch (e) {
      throw new HookError(`Exec lifecycle hook (${JSON.stringify(cmd)}) for Container "${ctx.container.name}" failed - error: ${errorMessage(e)}`);
    }
    if (r.exitCode !== 0) {
      const out = `${r.stdout.toString()}${r.stderr.toString()}`.trim();
      throw new HookError(`Exec lifecycle hook (${JSON.stringify(cmd)}) for Container "${ctx.container.name}" failed - error: command '${cmd.join(' ')}' exited with ${r.exitCode}: ${out}, message: "${out}"`);
    }
    return 'exec';
  }
  if (h.httpGet) {
    const g = h.httpGet;
    const port = resolvePort(g.port as number | string | undefined, ctx.container);
    const host = g.host || ctx.podIP;
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const path = g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/';
    const url = new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`);
    const headers: Record<string, string> = { 'User-Agent': 'kube-lifecycle/1.30', Accept: '*/*' };
    for (const hd of g.httpHeaders ?? []) headers[hd.name] = hd.value;
    let code: number;
    try {
      code = await httpGet(url, headers, (ctx.timeoutSeconds ?? 0) * 1000, ctx.signal);
    } catch (e) {
      throw new HookError(`HTTP lifecycle hook (${path}) for Container "${ctx.container.name}" failed - error: ${errorMessage(e)}`);
    }
    if (code < 200 || code >= 400) throw new HookError(`HTTP lifecycle hook (${path}) for Container "${ctx.container.name}" failed - error: HTTP ${code}`);
    return 'httpGet';
  }
  if (h.sleep) {
    await ctx.clock.sleep(h.sleep.seconds * 1000, ctx.signal).catch(() => undefined);
    return 'sleep';
  }
  if (h.tcpSocket) throw new HookError(`tcpSocket lifecycle hooks are not supported (Container "${ctx.container.name}")`);
  throw new HookError(`invalid lifecycle hook for Container "${ctx.container.name}": no action`);
}
