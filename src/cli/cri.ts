// `nodelet cri ...`: a crictl for any CRI v1 endpoint (these machines have no crictl).
//
// Same verbs and columns as crictl where it has them: version, info, pods, ps, images, pull,
// inspect, exec, logs, stats, rm, rmp. Tables by default, `-o json` for machine output.

import { existsSync, readFileSync, statSync, watch } from 'node:fs';
import type { Command } from 'commander';
import { loadKubeletConfiguration, defaultRuntimeEndpoint } from '../config/index.js';
import { CriClient } from '../runtime/cri/index.js';
import { NotFoundError, type Container, type PodSandbox, type Runtime } from '../runtime/index.js';
import { joinCriLog, type LogLine } from '../kubelet/logs/index.js';
import { parseDuration } from '../util/duration.js';
import { formatAge, formatBytes, printTable, shortId } from './table.js';

export interface CriGlobalOptions {
  runtimeEndpoint?: string;
  config?: string;
  timeout?: string;
  output?: 'table' | 'json';
}

/** Endpoint precedence, as crictl and the kubelet: flag, CONTAINER_RUNTIME_ENDPOINT, config file, default. */
export function resolveEndpoint(opts: CriGlobalOptions): string {
  if (opts.runtimeEndpoint) return opts.runtimeEndpoint;
  const env = process.env['CONTAINER_RUNTIME_ENDPOINT'];
  if (env) return env;
  if (opts.config) return loadKubeletConfiguration(opts.config).containerRuntimeEndpoint;
  return defaultRuntimeEndpoint;
}

async function connect(cmd: Command): Promise<CriClient> {
  const opts = cmd.optsWithGlobals<CriGlobalOptions>();
  const timeoutMs = opts.timeout ? parseDuration(opts.timeout) : 5000;
  return CriClient.connect({ endpoint: resolveEndpoint(opts), timeoutMs, requestTimeoutMs: opts.config ? parseDuration(loadKubeletConfiguration(opts.config).runtimeRequestTimeout) : undefined });
}

function asJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<CriGlobalOptions>().output === 'json';
}

function json(v: unknown): void {
  process.stdout.write(JSON.stringify(v, (_k, x) => (Buffer.isBuffer(x) ? x.toString() : x), 2) + '\n');
}

function parseLabels(list: string[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--label must be key=value, got "${kv}"`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Resolves a (possibly truncated) container ID. */
async function findContainer(rt: Runtime, id: string): Promise<Container> {
  const found = (await rt.listContainers({ id })).filter((c) => c.id.startsWith(id));
  if (found.length === 0) throw new NotFoundError('ListContainers', `no container with ID "${id}"`);
  if (found.length > 1) throw new Error(`container ID "${id}" is ambiguous: ${found.map((c) => shortId(c.id)).join(', ')}`);
  return found[0]!;
}

async function findSandbox(rt: Runtime, id: string): Promise<PodSandbox> {
  const found = (await rt.listPodSandbox({ id })).filter((s) => s.id.startsWith(id));
  if (found.length === 0) throw new NotFoundError('ListPodSandbox', `no pod sandbox with ID "${id}"`);
  if (found.length > 1) throw new Error(`pod sandbox ID "${id}" is ambiguous`);
  return found[0]!;
}

async function withClient<T>(cmd: Command, fn: (rt: CriClient) => Promise<T>): Promise<T> {
  const rt = await connect(cmd);
  try {
    return await fn(rt);
  } finally {
    rt.close();
  }
}

function stateName(s: string): string {
  return s.replace(/^CONTAINER_|^SANDBOX_/, '').replace('NOTREADY', 'NotReady').replace(/^(\w)(\w*)$/, (_m, a: string, b: string) => a + b.toLowerCase());
}

function splitImage(tag: string): { repo: string; tag: string } {
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  return colon > slash ? { repo: tag.slice(0, colon), tag: tag.slice(colon + 1) } : { repo: tag, tag: '<none>' };
}

function printLogLine(l: LogLine, timestamps: boolean): void {
  const out = l.stream === 'stderr' ? process.stderr : process.stdout;
  out.write((timestamps ? `${l.timestamp} ` : '') + l.text + '\n');
}

export function registerCriCommands(program: Command): void {
  const cri = program
    .command('cri')
    .description('talk to a CRI runtime directly, like crictl')
    .option('-r, --runtime-endpoint <endpoint>', 'CRI endpoint (default: $CONTAINER_RUNTIME_ENDPOINT, the config file, or unix:///run/containerd/containerd.sock)')
    .option('--config <file>', 'KubeletConfiguration file to read containerRuntimeEndpoint from')
    .option('--timeout <duration>', 'connection timeout', '5s')
    .option('-o, --output <format>', 'table or json', 'table')
    .enablePositionalOptions();

  cri
    .command('version')
    .description('runtime name and versions')
    .action(async (_o, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const v = await rt.version();
        if (asJson(cmd)) return json(v);
        process.stdout.write(`Version:  ${v.version}\nRuntimeName:  ${v.runtimeName}\nRuntimeVersion:  ${v.runtimeVersion}\nRuntimeApiVersion:  ${v.runtimeApiVersion}\n`);
      }),
    );

  cri
    .command('info')
    .description('runtime conditions and configuration (Status, verbose)')
    .action(async (_o, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const st = await rt.status(true);
        const info: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(st.info)) {
          try {
            info[k] = JSON.parse(v);
          } catch {
            info[k] = v;
          }
        }
        json({ status: st.status, ...(Object.keys(info).length ? { info } : {}) });
      }),
    );

  cri
    .command('pods')
    .description('list pod sandboxes')
    .option('--name <name>', 'filter by pod name (substring)')
    .option('--namespace <ns>', 'filter by namespace')
    .option('--state <state>', 'ready or notready')
    .option('--label <key=value>', 'filter by label (repeatable)', collect)
    .option('-q, --quiet', 'only IDs')
    .action(async (o: { name?: string; namespace?: string; state?: string; label?: string[]; quiet?: boolean }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const state = o.state ? (o.state.toLowerCase() === 'ready' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY') : undefined;
        let pods = await rt.listPodSandbox({ state, labelSelector: parseLabels(o.label) });
        pods = pods.filter((p) => (!o.name || p.metadata.name.includes(o.name)) && (!o.namespace || p.metadata.namespace === o.namespace));
        pods.sort((a, b) => b.createdAt - a.createdAt);
        if (o.quiet) return void process.stdout.write(pods.map((p) => p.id + '\n').join(''));
        if (asJson(cmd)) return json(pods);
        printTable(
          ['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'ATTEMPT', 'RUNTIME'],
          pods.map((p) => [shortId(p.id), formatAge(p.createdAt), stateName(p.state), p.metadata.name, p.metadata.namespace, String(p.metadata.attempt), p.runtimeHandler || '(default)']),
        );
      }),
    );

  cri
    .command('ps')
    .description('list containers (running ones unless -a)')
    .option('-a, --all', 'show all containers')
    .option('-p, --pod <id>', 'only containers of this pod sandbox')
    .option('--name <name>', 'filter by container name (substring)')
    .option('--state <state>', 'created, running, exited or unknown')
    .option('--label <key=value>', 'filter by label (repeatable)', collect)
    .option('-q, --quiet', 'only IDs')
    .action(async (o: { all?: boolean; pod?: string; name?: string; state?: string; label?: string[]; quiet?: boolean }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const state = o.state ? (`CONTAINER_${o.state.toUpperCase()}` as Container['state']) : o.all ? undefined : 'CONTAINER_RUNNING';
        const podSandboxId = o.pod ? (await findSandbox(rt, o.pod)).id : undefined;
        let list = await rt.listContainers({ state, podSandboxId, labelSelector: parseLabels(o.label) });
        list = list.filter((c) => !o.name || c.metadata.name.includes(o.name));
        const podNames = new Map((await rt.listPodSandbox()).map((s) => [s.id, s.metadata.name]));
        list.sort((a, b) => b.createdAt - a.createdAt);
        if (o.quiet) return void process.stdout.write(list.map((c) => c.id + '\n').join(''));
        if (asJson(cmd)) return json(list);
        printTable(
          ['CONTAINER', 'IMAGE', 'CREATED', 'STATE', 'NAME', 'ATTEMPT', 'POD ID', 'POD'],
          list.map((c) => [
            shortId(c.id),
            c.image.image.startsWith('sha256:') ? shortId(c.image.image.slice(7)) : c.image.image,
            formatAge(c.createdAt),
            stateName(c.state),
            c.metadata.name,
            String(c.metadata.attempt),
            shortId(c.podSandboxId),
            podNames.get(c.podSandboxId) ?? c.labels['io.kubernetes.pod.name'] ?? '',
          ]),
        );
      }),
    );

  cri
    .command('images')
    .description('list images')
    .option('-q, --quiet', 'only IDs')
    .option('--digests', 'show digests')
    .action(async (o: { quiet?: boolean; digests?: boolean }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const images = await rt.listImages();
        if (o.quiet) return void process.stdout.write(images.map((i) => i.id + '\n').join(''));
        if (asJson(cmd)) return json(images);
        const rows: string[][] = [];
        for (const img of images) {
          const tags = img.repoTags.length ? img.repoTags : [img.repoDigests[0]?.replace(/@.*/, '') ?? '<none>'];
          for (const t of tags) {
            const { repo, tag } = img.repoTags.length ? splitImage(t) : { repo: t, tag: '<none>' };
            const digest = img.repoDigests[0]?.replace(/^.*@sha256:/, '').slice(0, 13) ?? '<none>';
            rows.push([repo, tag, ...(o.digests ? [digest] : []), img.id.replace(/^sha256:/, '').slice(0, 13), formatBytes(img.size)]);
          }
        }
        rows.sort((a, b) => a[0]!.localeCompare(b[0]!) || a[1]!.localeCompare(b[1]!));
        printTable(['IMAGE', 'TAG', ...(o.digests ? ['DIGEST'] : []), 'IMAGE ID', 'SIZE'], rows);
      }),
    );

  cri
    .command('pull <image>')
    .description('pull an image (shows progress)')
    .option('--creds <user:password>', 'registry credentials')
    .option('--auth <base64>', 'base64 user:password, as in a docker config')
    .action(async (image: string, o: { creds?: string; auth?: string }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const auth = o.creds ? { username: o.creds.split(':')[0]!, password: o.creds.split(':').slice(1).join(':') } : o.auth ? { auth: o.auth } : undefined;
        const ref = await pullWithProgress(rt, image, auth);
        if (asJson(cmd)) return json({ imageRef: ref });
        process.stdout.write(`Image is up to date for ${ref}\n`);
      }),
    );

  cri
    .command('inspect <id>')
    .description('status of a container, pod sandbox or image (JSON)')
    .action(async (id: string, _o, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const c = await findContainer(rt, id).catch(() => undefined);
        if (c) return json(await rt.containerStatus(c.id, true).then((r) => ({ status: r.status, info: parseInfo(r.info) })));
        const s = await findSandbox(rt, id).catch(() => undefined);
        if (s) return json(await rt.podSandboxStatus(s.id, true).then((r) => ({ status: r.status, info: parseInfo(r.info) })));
        const img = await rt.imageStatus(id);
        if (img) return json({ status: img });
        throw new NotFoundError('Inspect', `no container, pod sandbox or image "${id}"`);
      }),
    );

  cri
    .command('exec <id> <cmd...>')
    .description('run a command in a container and print its output (ExecSync)')
    .passThroughOptions()
    .option('--timeout <seconds>', 'timeout in seconds (0 = none)', '0')
    .action(async (id: string, argv: string[], o: { timeout: string }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const c = await findContainer(rt, id);
        const r = await rt.execSync(c.id, argv, Number(o.timeout));
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        process.exitCode = r.exitCode;
      }),
    );

  cri
    .command('logs <id>')
    .description("print a container's log")
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <n>', 'only the last n lines')
    .option('-t, --timestamps', 'show timestamps')
    .action(async (id: string, o: { follow?: boolean; tail?: string; timestamps?: boolean }, cmd: Command) => {
      const rt = await connect(cmd);
      let path: string;
      try {
        const c = await findContainer(rt, id);
        path = (await rt.containerStatus(c.id)).status.logPath;
      } finally {
        rt.close();
      }
      if (!path || !existsSync(path)) throw new Error(`container ${id} has no log file${path ? ` (${path} is missing)` : ''}`);
      let lines = joinCriLog(readFileSync(path, 'utf8'));
      if (o.tail !== undefined) lines = lines.slice(-Number(o.tail));
      for (const l of lines) printLogLine(l, !!o.timestamps);
      if (o.follow) await followLog(path, statSync(path).size, !!o.timestamps);
    });

  cri
    .command('stats [id]')
    .description('resource usage of containers')
    .option('-a, --all', 'include stopped containers')
    .action(async (id: string | undefined, o: { all?: boolean }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        const filter = id ? { id: (await findContainer(rt, id)).id } : undefined;
        let stats = await rt.listContainerStats(filter);
        if (!o.all && !id) {
          const running = new Set((await rt.listContainers({ state: 'CONTAINER_RUNNING' })).map((c) => c.id));
          stats = stats.filter((s) => running.has(s.attributes.id));
        }
        if (asJson(cmd)) return json(stats);
        printTable(
          ['CONTAINER', 'NAME', 'CPU %', 'MEM', 'DISK', 'INODES'],
          stats.map((s) => [
            shortId(s.attributes.id),
            s.attributes.metadata?.name ?? '',
            ((s.cpu?.usageNanoCores?.value ?? 0) / 1e7).toFixed(2),
            formatBytes(s.memory?.workingSetBytes?.value ?? 0),
            formatBytes(s.writableLayer?.usedBytes?.value ?? 0),
            String(s.writableLayer?.inodesUsed?.value ?? 0),
          ]),
        );
      }),
    );

  cri
    .command('rm <ids...>')
    .description('remove containers')
    .option('-f, --force', 'stop running containers first')
    .action(async (ids: string[], o: { force?: boolean }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        for (const id of ids) {
          const c = await findContainer(rt, id);
          if (c.state === 'CONTAINER_RUNNING') {
            if (!o.force) throw new Error(`container ${shortId(c.id)} is running: stop it first or use -f`);
            await rt.stopContainer(c.id, 0);
          }
          await rt.removeContainer(c.id);
          process.stdout.write(c.id + '\n');
        }
      }),
    );

  cri
    .command('rmp <ids...>')
    .description('stop and remove pod sandboxes (and their containers)')
    .option('-f, --force', 'also remove ready sandboxes')
    .action(async (ids: string[], o: { force?: boolean }, cmd: Command) =>
      withClient(cmd, async (rt) => {
        for (const id of ids) {
          const s = await findSandbox(rt, id);
          if (s.state === 'SANDBOX_READY' && !o.force) throw new Error(`pod sandbox ${shortId(s.id)} is ready: stop it first or use -f`);
          await rt.stopPodSandbox(s.id);
          await rt.removePodSandbox(s.id);
          process.stdout.write(`Removed sandbox ${s.id}\n`);
        }
      }),
    );
}

function parseInfo(info: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) {
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/**
 * Pulls, printing progress on stderr every 500 ms: elapsed time and how much the image
 * filesystem grew (CRI has no pull progress of its own; the filesystem growth is what a user
 * can see of a large pull).
 */
export async function pullWithProgress(rt: Runtime, image: string, auth?: { username?: string; password?: string; auth?: string }): Promise<string> {
  const t0 = Date.now();
  const base = await rt.imageFsInfo().then((f) => f.imageFilesystems[0]?.usedBytes?.value ?? 0).catch(() => 0);
  const tty = process.stderr.isTTY;
  let last = '';
  const tick = setInterval(() => {
    void rt.imageFsInfo().then((f) => {
      const grown = (f.imageFilesystems[0]?.usedBytes?.value ?? 0) - base;
      last = `pulling ${image}: ${((Date.now() - t0) / 1000).toFixed(1)}s, image filesystem +${formatBytes(Math.max(0, grown))}`;
      process.stderr.write(tty ? `\r${last}` : `${last}\n`);
    }, () => undefined);
  }, 500);
  try {
    const ref = await rt.pullImage(image, auth);
    const msg = `pulled ${image} in ${((Date.now() - t0) / 1000).toFixed(3)}s`;
    process.stderr.write(tty && last ? `\r${msg}${' '.repeat(Math.max(0, last.length - msg.length))}\n` : `${msg}\n`);
    return ref;
  } finally {
    clearInterval(tick);
  }
}

async function followLog(path: string, offset: number, timestamps: boolean): Promise<void> {
  let pos = offset;
  let carry = '';
  const drain = (): void => {
    const size = statSync(path).size;
    if (size < pos) pos = 0; // rotated
    if (size === pos) return;
    const buf = readFileSync(path).subarray(pos, size);
    pos = size;
    const text = carry + buf.toString('utf8');
    const cut = text.lastIndexOf('\n');
    carry = text.slice(cut + 1);
    for (const l of joinCriLog(text.slice(0, cut + 1))) printLogLine(l, timestamps);
  };
  await new Promise<void>((resolve) => {
    const w = watch(path, () => drain());
    const poll = setInterval(drain, 1000);
    process.once('SIGINT', () => {
      w.close();
      clearInterval(poll);
      resolve();
    });
  });
}
