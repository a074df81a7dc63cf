// What every probe handler shares (models pkg/probe/probe.go and pkg/probe/util.go): the
// handler-level result (Success, Warning, Failure, Unknown), port resolution by number or by
// named container port, host:port joining and the kubelet's probe User-Agent.

import { isIP, type Socket } from 'node:net';
import type { V1Container } from '@kubernetes/client-node';
import { kubeletCompatVersion } from '../../version.js';

/**
 * A handler's verdict (probe.Result). Warning is a success with something to say (a redirect to
 * another host); Unknown goes with an error: the probe could not be run at all.
 */
export type HandlerResult = 'Success' | 'Warning' | 'Failure' | 'Unknown';

export interface HandlerOutcome {
  result: HandlerResult;
  /** What the probe said: command output, response body, or why it failed. */
  output: string;
  /** Set when the probe could not be run (result Unknown, or a body that could not be read). */
  error?: Error;
}

/** The kubelet reads at most this much of an exec probe's output or an HTTP probe's body (10 KiB). */
export const maxProbeOutputBytes = 10 * 1024;

/** `kube-probe/1.30`: the kubelet's `kube-<purpose>/<major>.<minor>` User-Agent. */
export function probeUserAgent(purpose = 'probe'): string {
  const m = /^v?(\d+)\.(\d+)/.exec(kubeletCompatVersion);
  return m ? `kube-${purpose}/${m[1]}.${m[2]}` : `kube-${purpose}/`;
}

/** net.JoinHostPort: IPv6 literals in brackets. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 || host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * probe.ResolveContainerPort: a number, or the name of one of the container's ports, or (last
 * ditch) a number written as a string; 1..65535.
 */
export function resolveContainerPort(param: number | string | undefined, container: Pick<V1Container, 'ports'>): number {
  let port: number;
  if (typeof param === 'number') {
    port = param;
  } else if (typeof param === 'string') {
    const named = (container.ports ?? []).find((p) => p.name === param);
    if (named) {
      port = named.containerPort;
    } else if (/^[+-]?\d+$/.test(param)) {
      port = Number(param);
    } else {
      throw new Error(`strconv.Atoi: parsing ${JSON.stringify(param)}: invalid syntax`);
    }
  } else {
    throw new Error(`intOrString had no kind: ${String(param)}`);
  }
  if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  throw new Error(`invalid port number: ${port}`);
}

/** The message of an error thrown by anything. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Closes a probe's connection as the kubelet's probe dialer does (SO_LINGER 0): with a RST, so
 * that neither end keeps a TIME-WAIT socket for every probe run. A socket that never connected is
 * simply destroyed.
 */
export function closeProbeSocket(socket: Socket): void {
  if (!socket.destroyed && !socket.connecting && socket.readyState !== 'closed') socket.resetAndDestroy();
  else socket.destroy();
}
