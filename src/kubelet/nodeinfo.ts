// What the kubelet reads of its own machine: node name, host IP, capacity, resolv.conf
// (models the parts of pkg/kubelet/nodestatus and cadvisor's machine info the pod engine needs).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, hostname, networkInterfaces, totalmem } from 'node:os';
import type { NodeContext } from './kuberuntime/index.js';

/** The node name: --hostname-override, else the machine's hostname, lowercased (as the kubelet does). */
export function nodeName(override?: string): string {
  return (override || hostname()).trim().toLowerCase();
}

/** The first non-internal IPv4 address of the machine (the kubelet's default node IP), else 127.0.0.1. */
export function defaultHostIP(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
    }
  }
  return '127.0.0.1';
}

export function readResolvConf(path: string): string {
  if (!path) return '';
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function detectNodeContext(opts: { nodeName: string; hostIP?: string; resolvConf: string; clusterDNS: string[]; clusterDomain: string; rootDir: string }): NodeContext {
  const mem = totalmem();
  return {
    nodeName: opts.nodeName,
    hostIP: opts.hostIP || defaultHostIP(),
    resolvConf: readResolvConf(opts.resolvConf),
    clusterDNS: opts.clusterDNS,
    clusterDomain: opts.clusterDomain,
    memoryCapacity: mem,
    allocatableCpuMillis: cpus().length * 1000,
    allocatableMemory: mem,
    seccompProfileRoot: join(opts.rootDir, 'seccomp'),
  };
}
