// The small-disk test environment of scripts/smalldisk-up.sh: a second containerd whose image
// filesystem is a small loop-mounted ext4 filesystem (image GC, disk pressure), and a second
// registry on 127.0.0.1:5001 that wants basic auth (pulls with credentials). smallDiskEnv() starts
// it when needed (idempotent, about a second when up, 7 s cold); helpers measure and fill that
// filesystem and push images of a chosen size to the main registry.
//
// Skipped like test/runtime-env.ts: when the main runtime is not there and NODELET_REQUIRE_RUNTIME
// is not 1 (or we are not root), `available` is false and `reason` says why; with
// NODELET_REQUIRE_RUNTIME=1 a failure to start it makes `available` true so that the tests fail
// loudly (their first runtime call errors) instead of skipping.
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthConfig, FilesystemUsage, Runtime } from '../src/runtime/index.js';
import { projectRoot, readEnvFile, testRuntimeEnv } from './runtime-env.js';

export interface SmallDiskEnv {
  available: boolean;
  reason: string;
  /** CRI endpoint of the small containerd, `unix://<dir>/containerd.sock`. */
  endpoint: string;
  /** $NODELET_SMALLDISK_DIR (default $NODELET_RUNTIME_DIR/smalldisk). */
  dir: string;
  /** The file holding the filesystem (a loop device is attached to it). */
  imageFile: string;
  sizeMiB: number;
  /** Where the small ext4 filesystem is mounted. */
  mountpoint: string;
  /** containerd's `root`, on the small filesystem. */
  containerdRoot: string;
  /** What its ImageFsInfo reports as the image filesystem's mountpoint (a dir on `mountpoint`). */
  imageFsMountpoint: string;
  podLogDir: string;
  /** Imported into the small containerd: localhost/busybox:latest and localhost/pause:3.9. */
  testImage: string;
  pauseImage: string;
  /** The registry with basic auth, `127.0.0.1:5001`. */
  registry: string;
  username: string;
  password: string;
  /** `{ username, password }`, what a CRI PullImage from `registry` needs. */
  auth: AuthConfig;
  /** In `registry` only (never left in containerd by smalldisk-up.sh): `127.0.0.1:5001/private/busybox:1.0`. */
  privateImage: string;
  /** The main runtime's registry without auth (`127.0.0.1:5000`), where pushSizedImages pushes. */
  publicRegistry: string;
  projectRoot: string;
}

export interface FsUsage {
  /** f_blocks × f_bsize */
  capacityBytes: number;
  /** (f_blocks − f_bfree) × f_bsize */
  usedBytes: number;
  /** f_bavail × f_bsize (no blocks are reserved for root on the small filesystem) */
  availableBytes: number;
  /** 100 − available × 100 / capacity, as the kubelet's image GC computes it (not rounded) */
  usedPercent: number;
  inodes: number;
  inodesFree: number;
}

const cache = new Map<string, SmallDiskEnv>();

/**
 * The small-disk environment, started with scripts/smalldisk-up.sh first (idempotent). A
 * `sizeMiB` different from the current filesystem's recreates it empty (its images are lost);
 * without it the filesystem there is is kept (400 MiB when there is none).
 */
export function smallDiskEnv(opts: { sizeMiB?: number } = {}): SmallDiskEnv {
  const key = String(opts.sizeMiB ?? '');
  const hit = cache.get(key);
  if (hit) return hit;
  const main = testRuntimeEnv();
  const dir = process.env['NODELET_SMALLDISK_DIR'] ?? join(main.runtimeDir, 'smalldisk');
  const required = process.env['NODELET_REQUIRE_RUNTIME'] === '1';
  let available = main.available;
  let reason = main.reason;
  let started = false;
  if (available && process.getuid?.() !== 0) {
    available = required;
    reason = 'the small-disk runtime needs root (scripts/smalldisk-up.sh mounts a filesystem)';
  } else if (available) {
    try {
      execFileSync('bash', [join(projectRoot, 'scripts/smalldisk-up.sh'), ...(opts.sizeMiB ? ['--size-mib', String(opts.sizeMiB)] : [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODELET_SMALLDISK_DIR: dir, NODELET_RUNTIME_DIR: main.runtimeDir },
        timeout: 5 * 60_000,
      });
      started = true;
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
      available = required;
      reason = `scripts/smalldisk-up.sh failed: ${(e.stderr?.toString() || e.stdout?.toString() || e.message).trim().split('\n').slice(-5).join(' | ')}`;
    }
  }
  const f = readEnvFile(join(dir, 'env'));
  const get = (k: string, d: string): string => f[k] ?? d;
  const mountpoint = get('NODELET_SMALLDISK_MOUNTPOINT', join(dir, 'mnt'));
  const containerdRoot = get('NODELET_SMALLDISK_CONTAINERD_ROOT', join(mountpoint, 'containerd'));
  const registry = get('NODELET_SMALLDISK_REGISTRY', '127.0.0.1:5001');
  const username = get('NODELET_SMALLDISK_REGISTRY_USER', 'nodelet');
  const password = get('NODELET_SMALLDISK_REGISTRY_PASSWORD', 's3cret');
  const env: SmallDiskEnv = {
    available,
    reason,
    endpoint: get('NODELET_SMALLDISK_ENDPOINT', `unix://${dir}/containerd.sock`),
    dir,
    imageFile: get('NODELET_SMALLDISK_IMAGE_FILE', join(dir, 'disk.img')),
    sizeMiB: Number(get('NODELET_SMALLDISK_SIZE_MIB', String(opts.sizeMiB ?? 400))),
    mountpoint,
    containerdRoot,
    imageFsMountpoint: get('NODELET_SMALLDISK_IMAGEFS', join(containerdRoot, 'io.containerd.snapshotter.v1.overlayfs')),
    podLogDir: get('NODELET_SMALLDISK_POD_LOG_DIR', join(dir, 'pod-logs')),
    testImage: get('NODELET_SMALLDISK_TEST_IMAGE', 'localhost/busybox:latest'),
    pauseImage: get('NODELET_SMALLDISK_PAUSE_IMAGE', 'localhost/pause:3.9'),
    registry,
    username,
    password,
    auth: { username, password },
    privateImage: get('NODELET_SMALLDISK_PRIVATE_IMAGE', `${registry}/private/busybox:1.0`),
    publicRegistry: main.registry,
    projectRoot,
  };
  if (started) cache.set(key, env);
  return env;
}

/** statfs of the filesystem holding `path`. */
export function fsUsage(path: string): FsUsage {
  const s = statfsSync(path);
  const capacityBytes = s.blocks * s.bsize;
  const availableBytes = s.bavail * s.bsize;
  return {
    capacityBytes,
    usedBytes: (s.blocks - s.bfree) * s.bsize,
    availableBytes,
    usedPercent: capacityBytes > 0 ? 100 - (availableBytes * 100) / capacityBytes : 0,
    inodes: s.files,
    inodesFree: s.ffree,
  };
}

let fillerSeq = 0;

/**
 * Allocates a filler file on the filesystem of `mountpoint` (fallocate: real blocks, instantly)
 * so that its usedPercent reaches `percent` (within a block or so). Nothing is written when the
 * filesystem is that full already. Returns the clean-up, which deletes the file (idempotent).
 */
export function fillTo(mountpoint: string, percent: number): () => void {
  if (!(percent > 0 && percent <= 100)) throw new RangeError(`fillTo: percent must be in (0, 100], got ${percent}`);
  const u = fsUsage(mountpoint);
  const want = Math.floor((u.capacityBytes * (100 - percent)) / 100); // available bytes wanted
  const bytes = u.availableBytes - want;
  if (bytes <= 0) return () => {};
  const file = join(mountpoint, `.nodelet-filler-${process.pid}-${++fillerSeq}`);
  closeSync(openSync(file, 'w'));
  const cleanup = (): void => {
    if (existsSync(file)) unlinkSync(file);
  };
  try {
    // fallocate(1) is in util-linux (always there); a filesystem without fallocate gets zeros
    execFileSync('fallocate', ['-l', String(bytes), file], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${Math.ceil(bytes / 1048576)}`, 'conv=fsync'], { stdio: 'ignore' });
    } catch (err) {
      if (!statSync(file).size) {
        cleanup();
        throw err;
      }
    }
  }
  return cleanup;
}

function buildImage(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(projectRoot, 'scripts/build-image.sh'), ...args], { env: { ...process.env, ...env }, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`build-image.sh ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim().split(' ')[0]!);
    });
  });
}

/**
 * Builds and pushes to the main registry (127.0.0.1:5000, no auth) one image per name
 * (`repo/name` or `repo/name:tag`, tag "1" by default), each with a distinct layer of `mib` MiB
 * of incompressible data on top of busybox. Cached and deterministic: a second call costs about
 * a second per image. Resolves with the full references, e.g. `127.0.0.1:5000/gc/a:1`.
 * A pull of one takes about 2 × `mib` MiB of the image filesystem (compressed blobs in the
 * content store + the unpacked snapshot).
 */
export async function pushSizedImages(names: string[], mib: number, opts: { concurrency?: number } = {}): Promise<string[]> {
  const main = testRuntimeEnv();
  const env = { NODELET_RUNTIME_DIR: main.runtimeDir, NODELET_REGISTRY: main.registry };
  const out: string[] = new Array<string>(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const name = names[i]!;
      const m = /^(.*?)(?::([A-Za-z0-9_][A-Za-z0-9_.-]*))?$/.exec(name)!;
      out[i] = await buildImage(['--push', '--filler-mib', String(mib), m[1]!, m[2] ?? '1'], env);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, names.length)) }, worker));
  return out;
}

/**
 * The image filesystem's usage as containerd computed it after `sinceMs` (epoch ms). containerd
 * 1.6 refreshes ImageFsInfo every stats_collect_period (10 s here); until then it reports the
 * previous figure (a removed image still counts, a pulled one not yet), with `timestamp` (ns) =
 * when it was computed. Polls until that timestamp is later than `sinceMs`. Its usedBytes counts
 * the unpacked snapshots only, not the content store (statfs sees both: see fsUsage).
 */
export async function imageFsInfoAfter(rt: Pick<Runtime, 'imageFsInfo'>, sinceMs: number, timeoutMs = 25_000): Promise<FilesystemUsage> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const fs = (await rt.imageFsInfo()).imageFilesystems[0];
    if (!fs) throw new Error('ImageFsInfo reports no image filesystem');
    if (fs.timestamp / 1e6 > sinceMs) return fs;
    if (Date.now() > end) throw new Error(`ImageFsInfo not refreshed within ${timeoutMs} ms (last at ${new Date(fs.timestamp / 1e6).toISOString()})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Disk usage (allocated blocks, like containerd's snapshot usage) of a directory tree, in bytes. */
export function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-s', '-B1', '-x', dir], { encoding: 'utf8' }).split('\t')[0]);
}
