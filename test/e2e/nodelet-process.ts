// Runs `nodelet run` as a child process for end-to-end tests, with its own manifest, root and
// log directories, a free local API port and its log in a file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { projectRoot } from '../runtime-env.js';
import { eventually } from './helpers.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface NodeletProcessOptions {
  endpoint: string;
  nodeName?: string;
  baseDir: string;
  extraArgs?: string[];
  /** Flags for node itself (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
}

export class NodeletProcess {
  readonly dir: string;
  readonly manifests: string;
  readonly rootDir: string;
  readonly logsDir: string;
  readonly logFile: string;
  readonly nodeName: string;
  port = 0;
  /** Extra flags for `nodelet run` (may be changed before start()). */
  readonly extraArgs: string[];
  private proc?: ChildProcess;

  constructor(private readonly opts: NodeletProcessOptions) {
    this.dir = mkdtempSync(join(opts.baseDir, 'nodelet-e2e-'));
    this.manifests = join(this.dir, 'manifests');
    this.rootDir = join(this.dir, 'root');
    this.logsDir = join(this.dir, 'logs');
    this.logFile = join(this.dir, 'nodelet.log');
    this.nodeName = opts.nodeName ?? 'e2e-node';
    this.extraArgs = [...(opts.extraArgs ?? [])];
    for (const d of [this.manifests, this.rootDir, this.logsDir]) mkdirSync(d, { recursive: true });
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const out = openSync(this.logFile, 'a');
    this.proc = spawn(
      process.execPath,
      [
        ...(this.opts.nodeArgs ?? []),
        join(projectRoot, 'bin/nodelet.js'), 'run',
        '--container-runtime-endpoint', this.opts.endpoint,
        '--pod-manifest-path', this.manifests,
        '--root-dir', this.rootDir,
        '--pod-logs-dir', this.logsDir,
        '--hostname-override', this.nodeName,
        '--healthz-port', String(this.port),
        '--file-check-frequency', '2s',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', out, out] },
    );
    await eventually(async () => (await fetch(`http://127.0.0.1:${this.port}/healthz/ping`)).ok, 20_000, 'nodelet local API');
  }

  /** Stops nodelet: SIGTERM (graceful) or SIGKILL (crash). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
    this.proc = undefined;
  }

  /** PID of the nodelet process (the node process running bin/nodelet.js). */
  get pid(): number {
    if (!this.proc?.pid) throw new Error('nodelet is not running');
    return this.proc.pid;
  }

  /** CPU time used so far (user + system), in clock ticks (1/100 s). */
  cpuTicks(): number {
    const f = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  }

  rssMiB(): number {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null;
  }

  /** Writes a manifest the way an operator should: to a dot-file, then rename. */
  writeManifest(name: string, text: string): void {
    const tmp = join(this.manifests, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.manifests, name));
  }

  removeManifest(name: string): void {
    rmSync(join(this.manifests, name), { force: true });
  }

  async pods(): Promise<V1Pod[]> {
    const r = await fetch(`http://127.0.0.1:${this.port}/pods`);
    return ((await r.json()) as { items: V1Pod[] }).items;
  }

  async pod(name: string): Promise<V1Pod | undefined> {
    return (await this.pods()).find((p) => p.metadata?.name === `${name}-${this.nodeName}`);
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
