// bench/controller-process: the compiled `nodelet controller` as its own process against the test
// API server (real REST, real watches), with N simulated nodes: each a Node shaped as a real
// cluster's, a Lease the bench renews every 10 s, and --pods-per-node pods. What the in-memory
// bench (bench/nodelifecycle.ts) cannot show: client-node's list and watch decoding, the HTTP
// writes, and the process's whole RSS.
//
//   node --import tsx bench/controller-process.ts [--nodes 5000] [--pods-per-node 10] [--steady 30] [--down 10]
//
// Phases: seed the API server; start `node bin/nodelet.js controller` (dist/, built first with
// `npm run build`) with leader election; until its caches are synced; --steady seconds of renewals
// (a monitor pass every 5 s); then --down % of the nodes stop renewing: until the controller has
// written them Unknown (50 s grace), tainted them, and marked their pods NotReady, plus 10 s.
// Figures per phase: the controller's RSS (VmRSS) and peak RSS (VmHWM) from /proc, its CPU time,
// and the requests it made (by verb and resource).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { V1Lease, V1Node, V1Pod } from '@kubernetes/client-node';
import { startTestApiServer, type KObject } from '../test/apiserver/index.js';
import { formatTable } from '../src/cli/table.js';
import { makeLease, makeNode, makePod } from './clusterobjects.js';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    'pods-per-node': { type: 'string', default: '10' },
    steady: { type: 'string', default: '30' },
    down: { type: 'string', default: '10' },
    zones: { type: 'string', default: '3' },
    /** V8 flags for the controller process only, e.g. "--max-semi-space-size=4". */
    'controller-node-options': { type: 'string', default: '' },
  },
});
const N = Number(args.nodes);
const podsPerNode = Number(args['pods-per-node']);
const steadyS = Number(args.steady);
const downPct = Number(args.down);
const zones = Math.max(1, Number(args.zones));
const MiB = 1024 * 1024;
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const progress = (m: string): void => void process.stderr.write(`[controller-process] ${m}\n`);

/** VmRSS, VmHWM (peak) in MiB and CPU seconds (user + system) of a process. */
function procStats(pid: number): { rss: number; peak: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  return { rss: (kib('VmRSS') * 1024) / MiB, peak: (kib('VmHWM') * 1024) / MiB, cpuS: ticks / 100 };
}

progress('npm run build (the controller runs compiled)');
const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) throw new Error('npm run build failed');

// an etcd-like history long enough for the renewals made while the controller lists 50 000 pods
// (a watch from the list's resourceVersion must not be too old: it would relist forever)
const s = await startTestApiServer({ tls: false, historySize: 2_000_000 });
const t0 = Date.now();
progress(`seeding ${N} nodes, ${N} leases, ${N * podsPerNode} pods`);
s.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-node-lease' } } as KObject);
const names: string[] = [];
for (let i = 0; i < N; i++) {
  const name = `node-${i}`;
  names.push(name);
  const node = makeNode(name, i, `zone-${i % zones}`, t0);
  s.put('nodes', JSON.parse(JSON.stringify(node)) as KObject);
  s.put('leases', JSON.parse(JSON.stringify(makeLease(name, node.metadata!.uid!, t0))) as KObject);
  for (let j = 0; j < podsPerNode; j++) s.put('pods', JSON.parse(JSON.stringify(makePod(name, '172.16.0.1', j, t0))) as KObject);
}
const seededMs = Date.now() - t0;

// the kubelets: every alive node renews its Lease every 10 s (a 10th of them each second)
const alive = new Set(names);
let tick = 0;
const renewer = setInterval(() => {
  const now = new Date().toISOString().replace('Z', '000Z');
  for (let i = tick % 10; i < names.length; i += 10) {
    const name = names[i]!;
    if (!alive.has(name)) continue;
    const l = s.get('leases', 'kube-node-lease', name) as V1Lease;
    s.put('leases', { ...l, spec: { ...l.spec, renewTime: now } } as unknown as KObject);
  }
  tick++;
}, 1000);

const dir = mkdtempSync(join(tmpdir(), 'nodelet-bench-ctl-'));
const kubeconfig = s.writeKubeconfig(join(dir, 'admin.kubeconfig'));
let log = '';
const nodeFlags = args['controller-node-options'].split(' ').filter(Boolean);
const ctl = spawn(process.execPath, [...nodeFlags, join(root, 'bin/nodelet.js'), 'controller', '--kubeconfig', kubeconfig, '--secure-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
ctl.stdout.on('data', (d: Buffer) => (log += d.toString()));
ctl.stderr.on('data', (d: Buffer) => (log += d.toString()));
const started = performance.now();
const pid = ctl.pid!;

interface Row {
  phase: string;
  atS: number;
  rss: number;
  peak: number;
  cpuS: number;
  requests: string;
}
const rows: Row[] = [];
let lastReq = 0;
function record(phase: string): void {
  const st = procStats(pid);
  const reqs = s.requests.slice(lastReq).filter((r) => r.verb !== 'watch');
  lastReq = s.requests.length;
  const by = new Map<string, number>();
  for (const r of reqs) {
    const resource = /\/(nodes|leases|pods|events|daemonsets)(\/[^/?]+)?(\/status)?/.exec(r.path);
    const k = `${r.verb} ${resource ? resource[1] + (resource[3] ?? '') : r.path.split('?')[0]}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  rows.push({ phase, atS: (performance.now() - started) / 1000, ...st, requests: [...by].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '-' });
  progress(`${phase}: RSS ${st.rss.toFixed(0)} MiB (peak ${st.peak.toFixed(0)}), CPU ${st.cpuS.toFixed(1)} s`);
}

async function until(what: string, check: () => boolean, timeoutS: number): Promise<void> {
  const end = performance.now() + timeoutS * 1000;
  while (!check()) {
    if (ctl.exitCode !== null) throw new Error(`the controller exited (${ctl.exitCode}) waiting for ${what}:\n${log.slice(-2000)}`);
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}:\n${log.slice(-2000)}`);
    await sleep(200);
  }
}

try {
  await until('caches synced and the controllers started', () => log.includes('Starting node lifecycle controller'), 300);
  record('caches synced, controllers started');
  await sleep(steadyS * 1000);
  record(`steady, ${steadyS} s of renewals`);
  const down = names.filter((_, i) => i % Math.round(100 / downPct) === 0);
  for (const d of down) alive.delete(d);
  progress(`${down.length} nodes stop renewing`);
  const readyOf = (n: string): string | undefined => (s.get('nodes', '', n) as V1Node | undefined)?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  await until(`${down.length} nodes Unknown`, () => down.every((n) => readyOf(n) === 'Unknown'), 180);
  record(`${down.length} nodes written Unknown`);
  const podReady = (p: V1Pod): string | undefined => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  const downSet = new Set(down);
  await until('their pods NotReady', () => s.list('pods').every((p) => !downSet.has((p as V1Pod).spec?.nodeName ?? '') || podReady(p as V1Pod) === 'False'), 120);
  await until('their NoSchedule taints', () => down.every((n) => (s.get('nodes', '', n) as V1Node).spec?.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule')), 60);
  await sleep(10_000);
  record('their pods NotReady and NoSchedule taints written, +10 s');
} finally {
  clearInterval(renewer);
  ctl.kill('SIGTERM');
  await new Promise((r) => ctl.once('exit', r));
  await s.close();
  rmSync(dir, { recursive: true, force: true });
}

const out = process.stdout;
out.write(`\nnodelet controller (compiled, its own process${nodeFlags.length ? ', node ' + nodeFlags.join(' ') : ''}) against the test API server: ${N} nodes, ${N * podsPerNode} pods, ${zones} zones; seeded in ${(seededMs / 1000).toFixed(1)} s; ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0]?.toFixed(1)}\n\n`);
out.write(
  formatTable(
    ['phase', 'at', 'RSS', 'peak RSS', 'CPU', 'requests in the phase (not watches)'],
    rows.map((r) => [r.phase, `${r.atS.toFixed(1)} s`, `${r.rss.toFixed(0)} MiB`, `${r.peak.toFixed(0)} MiB`, `${r.cpuS.toFixed(1)} s`, r.requests]),
  ),
);
const peak = Math.max(...rows.map((r) => r.peak));
out.write(`\npeak RSS of the controller process: ${peak.toFixed(0)} MiB (goal ≤ 300 MiB at 5000 nodes: ${peak <= 300 ? 'met' : 'NOT met'})\n`);
