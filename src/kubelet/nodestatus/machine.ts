// Machine facts for the Node status (models what cadvisor's MachineInfo / VersionInfo and
// RootFsInfo give the kubelet: cores, MemTotal, hugepage pools, machine-id, product_uuid, boot_id,
// uname -r, os-release PRETTY_NAME, the capacity of the filesystem holding the root dir).
//
// Every read goes through MachineReaders so tests use fakes. Differences from cadvisor: the core
// count is os.cpus().length (cadvisor counts online CPUs from /sys); an unreadable product_uuid
// gives "" (cadvisor does the same); no NUMA topology, no cloud provider facts.

import { readdir, readFile } from 'node:fs/promises';
import { arch, cpus, release, totalmem } from 'node:os';
import { statfsPath } from '../../util/statfs.js';
import type { MachineFacts } from './setters.js';

export interface MachineReaders {
  /** File contents, or undefined when it cannot be read. */
  readFile(path: string): Promise<string | undefined>;
  /** Directory entries, or [] when it cannot be read. */
  readDir(path: string): Promise<string[]>;
  /** Capacity in bytes of the filesystem holding path (throws when it cannot be read). */
  fsCapacity(path: string): Promise<number>;
  numCores(): number;
  /** Fallback when /proc/meminfo has no MemTotal. */
  totalMemory(): number;
  kernelRelease(): string;
  /** Node's process.arch / os.arch() name. */
  nodeArch(): string;
}

export const hostMachineReaders: MachineReaders = {
  readFile: async (p) => {
    try {
      return await readFile(p, 'utf8');
    } catch {
      return undefined;
    }
  },
  readDir: async (p) => {
    try {
      return await readdir(p);
    } catch {
      return [];
    }
  },
  fsCapacity: async (p) => (await statfsPath(p)).capacityBytes,
  numCores: () => cpus().length,
  totalMemory: () => totalmem(),
  kernelRelease: () => release(),
  nodeArch: () => arch(),
};

/** Node's arch names as GOARCH spells them. */
export function goArch(nodeArch: string): string {
  const m: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return m[nodeArch] ?? nodeArch;
}

/** MemTotal of /proc/meminfo in bytes, or undefined. */
export function parseMemTotal(meminfo: string): number | undefined {
  const m = /^MemTotal:\s+(\d+)\s*kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** PRETTY_NAME of /etc/os-release (quotes removed); cadvisor's fallback is "Linux". */
export function parseOsRelease(text: string | undefined): string {
  const m = /^PRETTY_NAME=(.*)$/m.exec(text ?? '');
  if (!m) return 'Linux';
  const v = m[1]!.trim();
  return v.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
}

/** Reads the machine facts; rootDir is the kubelet's root directory (ephemeral-storage capacity). */
export async function readMachineFacts(r: MachineReaders, rootDir: string): Promise<MachineFacts> {
  const [meminfo, machineId, uuid, bootId, osRelease] = await Promise.all([
    r.readFile('/proc/meminfo'),
    r.readFile('/etc/machine-id'),
    r.readFile('/sys/class/dmi/id/product_uuid'),
    r.readFile('/proc/sys/kernel/random/boot_id'),
    r.readFile('/etc/os-release'),
  ]);
  const hugePages: MachineFacts['hugePages'] = [];
  for (const d of (await r.readDir('/sys/kernel/mm/hugepages')).sort()) {
    const m = /^hugepages-(\d+)kB$/.exec(d);
    if (!m) continue;
    const n = Number((await r.readFile(`/sys/kernel/mm/hugepages/${d}/nr_hugepages`))?.trim() ?? '');
    hugePages.push({ pageSizeKiB: Number(m[1]), numPages: Number.isFinite(n) ? n : 0 });
  }
  let rootFsCapacity: number | undefined;
  try {
    rootFsCapacity = await r.fsCapacity(rootDir);
  } catch {
    rootFsCapacity = undefined;
  }
  return {
    numCores: r.numCores(),
    memoryCapacity: (meminfo !== undefined ? parseMemTotal(meminfo) : undefined) ?? r.totalMemory(),
    ...(rootFsCapacity !== undefined ? { rootFsCapacity } : {}),
    hugePages,
    machineID: machineId?.trim() ?? '',
    systemUUID: uuid?.trim() ?? '',
    bootID: bootId?.trim() ?? '',
    kernelVersion: r.kernelRelease(),
    osImage: parseOsRelease(osRelease),
    operatingSystem: 'linux',
    architecture: goArch(r.nodeArch()),
  };
}

// The static facts read once (upstream's GetCachedMachineInfo "assumes that the machine info can't
// change without a reboot"); unlike upstream, the hugepage pools and the root filesystem's capacity
// are still read on every pass, as they can change without a reboot.
/**
 * What readMachineFacts reads that cannot change while nodelet runs (a reboot restarts it):
 * machine-id, product_uuid, boot_id, os-release, and /proc/meminfo (only MemTotal is read).
 */
const staticMachineFiles = new Set(['/etc/machine-id', '/sys/class/dmi/id/product_uuid', '/proc/sys/kernel/random/boot_id', '/etc/os-release', '/proc/meminfo']);

/**
 * The readers with the static machine facts read once, on first use: the files above, the core
 * count, total memory, kernel release and arch. A file that could not be read is tried again next
 * time. Everything else (the hugepage pools, the root filesystem's capacity) is read every time.
 */
export function cachingMachineReaders(base: MachineReaders): MachineReaders {
  const files = new Map<string, Promise<string | undefined>>();
  return {
    readFile: (path) => {
      if (!staticMachineFiles.has(path)) return base.readFile(path);
      let text = files.get(path);
      if (!text) {
        text = base.readFile(path).then(
          (t) => {
            if (t === undefined) files.delete(path);
            return t;
          },
          (e: unknown) => {
            files.delete(path);
            throw e;
          },
        );
        files.set(path, text);
      }
      return text;
    },
    readDir: (path) => base.readDir(path),
    fsCapacity: (path) => base.fsCapacity(path),
    numCores: once(() => base.numCores()),
    totalMemory: once(() => base.totalMemory()),
    kernelRelease: once(() => base.kernelRelease()),
    nodeArch: once(() => base.nodeArch()),
  };
}

function once<T>(f: () => T): () => T {
  let got: { value: T } | undefined;
  return () => (got ??= { value: f() }).value;
}
