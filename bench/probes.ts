// bench/probes: what probing costs nodelet, and how fast a failed liveness probe kills.
//
//   node --import tsx bench/probes.ts [--pods 60] [--window 20] [--kills 10]
//
// 1. N host-network pods, each a busybox httpd on its own 127.0.0.1 port with three probes at
//    period 1 s (startup httpGet, readiness httpGet, liveness tcpSocket): nodelet's CPU over a
//    steady window (median of three), against the same pods without probes.
// 2. K pods whose liveness exec probe (failureThreshold 1) starts failing: the delay from the
//    failed probe (its Unhealthy event) to the stop request ("killing container"), from nodelet's
//    own log timestamps.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/table.js';
import { CriClient } from '../src/runtime/cri/index.js';
import { testRuntimeEnv } from '../test/runtime-env.js';
import { NodeletProcess } from '../test/e2e/nodelet-process.js';
import { removePodsInNamespace } from '../test/e2e/helpers.js';

const { values: args } = parseArgs({ options: { pods: { type: 'string', default: '60' }, window: { type: 'string', default: '20' }, kills: { type: 'string', default: '10' } } });
const podCount = Number(args.pods);
const windowSeconds = Number(args.window);
const kills = Number(args.kills);
const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'bench-probes';
const progress = (m: string): void => void process.stderr.write(`[probes] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function manifest(i: number, probes: boolean): string {
  const port = 19000 + i;
  return `apiVersion: v1
kind: Pod
metadata: { name: web${i}, namespace: ${ns} }
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  containers:
    - name: httpd
      image: ${image}
      command: ["httpd", "-f", "-p", "127.0.0.1:${port}", "-h", "/var/www"]
${probes ? `      startupProbe: { httpGet: { path: /index.html, port: ${port} }, periodSeconds: 1, failureThreshold: 30 }
      readinessProbe: { httpGet: { path: /index.html, port: ${port} }, periodSeconds: 1 }
      livenessProbe: { tcpSocket: { port: ${port} }, periodSeconds: 1 }
` : ''}`;
}

async function cpuOver(n: NodeletProcess, seconds: number): Promise<number> {
  const t0 = n.cpuTicks();
  const w0 = performance.now();
  await sleep(seconds * 1000);
  return (n.cpuTicks() - t0) / 100 / ((performance.now() - w0) / 1000);
}

/** CPU over three windows of seconds/3 each: [min, median, max] (the machine is shared with the pods). */
async function cpuWindows(n: NodeletProcess, seconds: number): Promise<number[]> {
  const w: number[] = [];
  for (let i = 0; i < 3; i++) w.push(await cpuOver(n, seconds / 3));
  return w.sort((a, b) => a - b);
}

async function allReady(n: NodeletProcess, count: number, probes: boolean): Promise<void> {
  const end = Date.now() + 300_000;
  for (;;) {
    const pods = (await n.pods()).filter((p) => p.metadata?.namespace === ns);
    const ok = pods.filter((p) => p.status?.phase === 'Running' && (!probes || p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True'));
    if (ok.length >= count) return;
    if (Date.now() > end) throw new Error(`only ${ok.length}/${count} pods ready`);
    await sleep(500);
  }
}

const rt = await CriClient.connect({ endpoint: env.endpoint });
// the kubelet's default manifest rescan period (the e2e harness shortens it to 2 s)
const n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'bench-probes', extraArgs: ['--node-ip', '127.0.0.1', '--file-check-frequency', '20s'] });
await n.start();
const rows: string[][] = [];
try {
  for (const probes of [false, true]) {
    progress(`${podCount} pods ${probes ? 'with 3 probes each (period 1 s)' : 'without probes'}`);
    for (let i = 0; i < podCount; i++) n.writeManifest(`web${i}.yaml`, manifest(i, probes));
    await allReady(n, podCount, probes);
    await sleep(3000);
    const [lo, cpu, hi] = await cpuWindows(n, windowSeconds);
    rows.push([probes ? `${podCount} pods x 3 probes @1s` : `${podCount} pods, no probes`, `${cpu!.toFixed(3)} (${lo!.toFixed(3)}..${hi!.toFixed(3)})`]);
    progress(`  nodelet CPU ${cpu!.toFixed(3)} cores (windows ${lo!.toFixed(3)}..${hi!.toFixed(3)})`);
    for (let i = 0; i < podCount; i++) n.removeManifest(`web${i}.yaml`);
    const end = Date.now() + 120_000;
    while ((await rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.namespace': ns } })).length > 0 && Date.now() < end) await sleep(500);
  }

  progress(`${kills} liveness kills`);
  for (let i = 0; i < kills; i++) {
    n.writeManifest(
      `live${i}.yaml`,
      `apiVersion: v1
kind: Pod
metadata: { name: live${i}, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", "touch /tmp/alive; sleep ${8 + i}; rm /tmp/alive; exec sleep 600"]
      livenessProbe: { exec: { command: ["cat", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 1 }
`,
    );
  }
  await sleep((12 + kills) * 1000);
  const delays: number[] = [];
  const lines = n.log().split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l) as { time: string; msg: string; event?: string; object?: string; container?: string; containerID?: string; reason?: string };
    } catch {
      return undefined;
    }
  });
  for (let i = 0; i < kills; i++) {
    const obj = `Pod/${ns}/live${i}-bench-probes`;
    const failed = lines.find((l) => l?.event === 'Unhealthy' && l.object === obj);
    const killed = lines.find((l) => l?.msg === 'killing container' && l.reason?.includes('failed liveness probe') && failed && l.time >= failed.time);
    if (failed && killed) delays.push(Date.parse(killed.time) - Date.parse(failed.time));
  }
  delays.sort((a, b) => a - b);
  const q = (p: number): number => delays[Math.min(delays.length - 1, Math.ceil(p * delays.length) - 1)] ?? NaN;
  rows.push([`liveness failure -> stop request (${delays.length} kills)`, `p50 ${q(0.5)} ms, max ${delays.at(-1)} ms`]);
} finally {
  await n.stop();
  await removePodsInNamespace(rt, ns);
  rt.close();
  n.cleanup();
}
process.stdout.write('\n' + formatTable(['probe overhead', 'nodelet CPU (cores) / delay'], rows));
