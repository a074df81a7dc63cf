// bench/pulls: image pull throughput through nodelet's image manager (src/kubelet/images) against
// the real containerd, serialized (the kubelet default) versus parallel pulls.
//
//   node --import tsx bench/pulls.ts [--images 10] [--max-parallel 5] [--extra-bytes 120000] [--json out.json]
//
// Needs the runtime and registry from scripts/runtime-up.sh. Builds `benchpull-<i>:1` images into
// the test registry with scripts/build-image.sh (skipping repositories already in the registry's
// catalog): the shared busybox layer plus one distinct layer of --extra-bytes of pseudo-random
// text each. For each mode it removes those images from containerd (only those: busybox and
// pause stay), then has one pod per image ensure its image at once, and measures the wall time.
// MB/s is given two ways: the images' size as the runtime reports it (which counts the busybox
// layer each image shares), and the bytes that were new to containerd (config, manifest and the
// distinct layer: the shared layer is already in its content store). The images are removed from
// containerd again at the end (they stay in the registry for the next run).
// Progress goes to stderr; the table to stdout.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { formatTable } from '../src/cli/table.js';
import { nopRecorder } from '../src/kubelet/events/index.js';
import { ImagePuller } from '../src/kubelet/images/puller.js';
import { CriClient } from '../src/runtime/cri/index.js';
import { RealClock } from '../src/util/clock.js';
import { testRuntimeEnv } from '../test/runtime-env.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '10' },
    'max-parallel': { type: 'string', default: '5' },
    'extra-bytes': { type: 'string', default: '120000' },
    json: { type: 'string' },
  },
});
const count = Number(args.images);
const maxParallel = Number(args['max-parallel']);
const extraBytes = Math.min(Number(args['extra-bytes']), 120_000); // one argv string: under Linux's 128 KiB limit

const progress = (msg: string): void => void process.stderr.write(`[pulls] ${msg}\n`);
const env = testRuntimeEnv();
if (!env.available) {
  progress(env.reason);
  process.exit(1);
}
const reg = env.registry;
const name = (i: number): string => `benchpull-${i}`;
const ref = (i: number): string => `${reg}/${name(i)}:1`;

/** Deterministic pseudo-random text (so a rebuilt image gets the same digest). */
function filler(seed: number, n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let x = (seed * 2654435761) >>> 0 || 1;
  let out = '';
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += alphabet[x & 63];
  }
  return out;
}

async function registryJSON<T>(path: string, accept?: string): Promise<T> {
  const res = await fetch(`http://${reg}${path}`, accept ? { headers: { Accept: accept } } : {});
  if (!res.ok) throw new Error(`GET http://${reg}${path}: ${res.status}`);
  return (await res.json()) as T;
}

// ---------------------------------------------------------------- images in the registry
const catalog = await registryJSON<{ repositories: string[] }>('/v2/_catalog?n=1000');
for (let i = 0; i < count; i++) {
  if (catalog.repositories.includes(name(i))) continue;
  progress(`building ${ref(i)}`);
  execFileSync(join(env.projectRoot, 'scripts/build-image.sh'), ['--push', name(i), '1', filler(i + 1, extraBytes)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Bytes containerd must fetch for image i: everything but the first (shared busybox) layer. */
interface Manifest {
  config: { size: number };
  layers: { size: number; digest: string }[];
}
let newBytes = 0;
for (let i = 0; i < count; i++) {
  const m = await registryJSON<Manifest>(`/v2/${name(i)}/manifests/1`, 'application/vnd.oci.image.manifest.v1+json');
  newBytes += m.config.size + m.layers.slice(1).reduce((a, l) => a + l.size, 0);
}

// ---------------------------------------------------------------- the runs
const rt = await CriClient.connect({ endpoint: env.endpoint });
const clock = new RealClock();

async function removeAll(): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = ref(i);
    if (!r.includes('/benchpull-')) throw new Error(`refusing to remove ${r}`);
    if (await rt.imageStatus(r)) await rt.removeImage(r);
    if (await rt.imageStatus(r)) throw new Error(`${r} is still in containerd after RemoveImage`);
  }
}

function pod(i: number, mode: string): V1Pod {
  return {
    metadata: { name: `benchpull-${i}`, namespace: 'bench', uid: `benchpull-${mode}-${i}-${Date.now().toString(36)}` },
    spec: { containers: [{ name: 'main', image: ref(i), imagePullPolicy: 'IfNotPresent' }] },
  };
}

interface Result {
  mode: string;
  wallMs: number;
  imageBytes: number;
  newBytes: number;
  failed: number;
}

async function run(mode: string, opts: { serializeImagePulls: boolean; maxParallelImagePulls?: number }): Promise<Result> {
  progress(`${mode}: removing ${count} images from containerd`);
  await removeAll();
  const puller = new ImagePuller({ runtime: rt, clock, recorder: nopRecorder, ...opts });
  progress(`${mode}: pulling ${count} images`);
  const t0 = performance.now();
  let done = 0;
  const results = await Promise.allSettled(
    Array.from({ length: count }, async (_, i) => {
      const p = pod(i, mode);
      const c = p.spec!.containers[0]!;
      const r = await puller.ensureImageExists(p, c, { kind: 'Pod', name: p.metadata!.name!, namespace: 'bench', uid: p.metadata!.uid! });
      done++;
      progress(`${mode}: ${done}/${count} ${ref(i)} after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      return r;
    }),
  );
  const wallMs = performance.now() - t0;
  let imageBytes = 0;
  let failed = 0;
  for (const [i, r] of results.entries()) {
    if (r.status === 'rejected') {
      failed++;
      progress(`${mode}: ${ref(i)} failed: ${(r.reason as Error).message}`);
    } else {
      imageBytes += (await rt.imageStatus(r.value.imageRef))?.size ?? 0;
    }
  }
  return { mode, wallMs, imageBytes, newBytes, failed };
}

const results: Result[] = [];
try {
  results.push(await run('serialized (serializeImagePulls: true)', { serializeImagePulls: true }));
  results.push(await run(`parallel, maxParallelImagePulls ${maxParallel}`, { serializeImagePulls: false, maxParallelImagePulls: maxParallel }));
  results.push(await run('parallel, no cap', { serializeImagePulls: false }));
  progress('removing the bench images from containerd');
  await removeAll();
} finally {
  rt.close();
}

const mb = (bytes: number, ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(2);
process.stdout.write(
  formatTable(
    ['mode', 'images', 'wall time', 'image MB/s', 'new MB/s', 'failed'],
    results.map((r) => [r.mode, String(count), `${(r.wallMs / 1000).toFixed(2)} s`, mb(r.imageBytes, r.wallMs), mb(r.newBytes, r.wallMs), String(r.failed)]),
  ),
);
process.stdout.write(`(${count} images, ${(results[0]!.imageBytes / count / 1e6).toFixed(2)} MB each as the runtime reports it, ${(newBytes / count / 1e3).toFixed(0)} kB of it new to containerd)\n`);
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
if (results.some((r) => r.failed > 0)) process.exitCode = 1;
