// `nodelet get pods`: kubectl get pods against a running nodelet's local API (GET /pods).
//
// Same columns, namespaces and messages as kubectl: NAME READY STATUS RESTARTS AGE (`-o wide` adds
// IP NODE NOMINATED NODE READINESS GATES, `-A` puts NAMESPACE first), `-o json|yaml|name`, the
// "default" namespace unless -n/-A, `Error from server (NotFound): pods "x" not found`.
// Nodelet's own: a static pod is also found by the name in its manifest, without the
// `-<node name>` suffix the kubelet appends.

import type { Command } from 'commander';
import type { V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { podNominatedNode, podReadinessGates, podStatusColumns } from './podprint.js';
import { formatTable } from './table.js';

export const defaultServer = 'http://127.0.0.1:10248';
export const defaultNamespace = 'default';
const requestTimeoutMs = 30_000;

/** A failure to report as kubectl does: the message alone on stderr, exit status 1. */
export class CommandFailed extends Error {}

export interface PodList {
  kind?: string;
  apiVersion?: string;
  metadata?: object;
  items: V1Pod[];
}

/** GET a JSON document from the nodelet local API; failures to connect name the URL and suggest `nodelet run`. */
export async function fetchLocalApi<T>(server: string, path: string): Promise<T> {
  const base = server.replace(/\/+$/, '');
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(requestTimeoutMs) });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    throw new CommandFailed(`The connection to the nodelet local API at ${base} failed (${cause}) - is nodelet running? Start it with \`nodelet run\`, or point --server at its healthzBindAddress:healthzPort.`);
  }
  const body = await res.text();
  if (!res.ok) throw new CommandFailed(`Error from server: GET ${url}: ${res.status} ${res.statusText}${body.trim() ? `: ${body.trim()}` : ''}`);
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new CommandFailed(`Error from server: GET ${url} did not answer JSON: ${body.slice(0, 200)}`);
  }
}

export async function fetchPods(server: string): Promise<V1Pod[]> {
  const list = await fetchLocalApi<PodList>(server, '/pods');
  return Array.isArray(list.items) ? list.items : [];
}

/** NAME is the pod's name, or for a static pod the manifest's name without `-<node name>`. */
export function podMatchesName(pod: V1Pod, name: string): boolean {
  const podName = pod.metadata?.name ?? '';
  if (podName === name) return true;
  const node = pod.spec?.nodeName;
  const source = pod.metadata?.annotations?.['kubernetes.io/config.source'];
  return !!node && source !== undefined && source !== 'api' && podName === `${name}-${node.toLowerCase()}`;
}

/** The pods of a namespace named NAME: the exact name first, else the static pod's short name. */
export function findPods(pods: V1Pod[], name: string, namespace: string): V1Pod[] {
  const inNs = pods.filter((p) => (p.metadata?.namespace ?? defaultNamespace) === namespace);
  const exact = inNs.filter((p) => p.metadata?.name === name);
  return exact.length ? exact : inNs.filter((p) => podMatchesName(p, name));
}

export function notFound(name: string): CommandFailed {
  return new CommandFailed(`Error from server (NotFound): pods "${name}" not found`);
}

/** Splits kubectl's `pods NAME` / `pod/NAME` argument forms; rejects resources other than pods. */
export function parseResourceArgs(resource: string, name: string | undefined): { name?: string } {
  let res = resource;
  let n = name;
  const slash = resource.indexOf('/');
  if (slash >= 0) {
    if (name !== undefined) throw new CommandFailed(`error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'nodelet get resource/<resource_name>' instead of 'nodelet get resource resource/<resource_name>')`);
    res = resource.slice(0, slash);
    n = resource.slice(slash + 1);
  }
  if (!['pods', 'pod', 'po'].includes(res.toLowerCase())) throw new CommandFailed(`error: the server doesn't have a resource type "${res}" (nodelet serves pods only)`);
  return n === undefined ? {} : { name: n };
}

/** POD or `pod/POD` (`pods/`, `po/`), as `nodelet logs` and `nodelet exec` take it; other resource types are not served. */
export function podNameArg(arg: string): string {
  return arg.includes('/') ? (parseResourceArgs(arg, undefined).name ?? '') : arg;
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** kubectl's JSON: keys sorted (Go maps), four-space indent. */
export function toKubectlJSON(v: unknown): string {
  return JSON.stringify(sortKeysDeep(v), null, 4) + '\n';
}

/** kubectl's YAML: keys sorted, sequences not indented, YAML 1.1 quoting (go-yaml's), no folding. */
export function toKubectlYAML(v: unknown): string {
  return stringify(sortKeysDeep(v), { version: '1.1', indentSeq: false, lineWidth: 0 });
}

export type OutputFormat = '' | 'wide' | 'json' | 'yaml' | 'name';

export function parseOutputFormat(o: string | undefined): OutputFormat {
  const f = o ?? '';
  if (f === '' || f === 'wide' || f === 'json' || f === 'yaml' || f === 'name') return f;
  throw new CommandFailed(`error: unable to match a printer suitable for the output format "${f}", allowed formats are: json,name,wide,yaml`);
}

/** The `get pods` table. */
export function formatPodTable(pods: V1Pod[], opts: { wide?: boolean; withNamespace?: boolean; nowMs: number }): string {
  const header = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  if (opts.wide) header.push('IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES');
  if (opts.withNamespace) header.unshift('NAMESPACE');
  const rows = pods.map((p) => {
    const c = podStatusColumns(p, opts.nowMs);
    const row = [c.name, c.ready, c.status, c.restarts, c.age];
    if (opts.wide) row.push(c.ip, c.node, podNominatedNode(p), podReadinessGates(p));
    if (opts.withNamespace) row.unshift(p.metadata?.namespace ?? '');
    return row;
  });
  return formatTable(header, rows);
}

function byNamespaceAndName(a: V1Pod, b: V1Pod): number {
  const an = a.metadata?.namespace ?? '';
  const bn = b.metadata?.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  const a2 = a.metadata?.name ?? '';
  const b2 = b.metadata?.name ?? '';
  return a2 < b2 ? -1 : a2 > b2 ? 1 : 0;
}

/** Runs a command body, turning CommandFailed into kubectl's plain stderr message and exit status 1. */
export async function runReporting(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof CommandFailed)) throw e;
    process.stderr.write(e.message + '\n');
    process.exitCode = 1;
  }
}

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  server: string;
}

export async function getPods(resource: string, nameArg: string | undefined, o: GetOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { name } = parseResourceArgs(resource, nameArg);
  const format = parseOutputFormat(o.output);
  if (name !== undefined && o.allNamespaces) throw new CommandFailed('error: a resource cannot be retrieved by name across all namespaces');
  const namespace = o.namespace || defaultNamespace;
  const all = (await fetchPods(o.server)).sort(byNamespaceAndName);
  const nowMs = Date.now();

  if (name !== undefined) {
    const found = findPods(all, name, namespace);
    if (found.length === 0) throw notFound(name);
    const pod = found[0]!;
    if (format === 'json') return void out.write(toKubectlJSON(pod));
    if (format === 'yaml') return void out.write(toKubectlYAML(pod));
    if (format === 'name') return void out.write(`pod/${pod.metadata?.name ?? ''}\n`);
    return void out.write(formatPodTable([pod], { wide: format === 'wide', nowMs }));
  }

  const pods = o.allNamespaces ? all : all.filter((p) => (p.metadata?.namespace ?? defaultNamespace) === namespace);
  if (format === 'json' || format === 'yaml') {
    const list = { apiVersion: 'v1', kind: 'PodList', metadata: {}, items: pods };
    return void out.write(format === 'json' ? toKubectlJSON(list) : toKubectlYAML(list));
  }
  if (format === 'name') return void out.write(pods.map((p) => `pod/${p.metadata?.name ?? ''}\n`).join(''));
  if (pods.length === 0) {
    process.stderr.write(o.allNamespaces ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`);
    return;
  }
  out.write(formatPodTable(pods, { wide: format === 'wide', withNamespace: !!o.allNamespaces, nowMs }));
}

export function registerGetCommands(program: Command): void {
  program
    .command('get')
    .description("list pods of a running nodelet, like kubectl get pods (reads the local API's /pods)")
    .argument('<resource>', 'pods (also pod, po, or pod/NAME)')
    .argument('[name]', 'a pod name; a static pod also answers to the name in its manifest, without the "-<node name>" suffix')
    .option('-n, --namespace <ns>', 'namespace', defaultNamespace)
    .option('-A, --all-namespaces', 'pods of all namespaces')
    .option('-o, --output <format>', 'wide, json, yaml or name (default: a table)')
    .option('--server <url>', "the nodelet's local API (http://healthzBindAddress:healthzPort)", defaultServer)
    .addHelpText(
      'after',
      `
Examples:
  nodelet get pods                   # pods of the "default" namespace
  nodelet get pods -A -o wide        # every pod, with IP and node
  nodelet get pod web -o yaml        # static pod "web" from a manifest, served as "web-<node name>"
  nodelet get pods -n kube-system --server http://127.0.0.1:10248`,
    )
    .action(async (resource: string, name: string | undefined, o: GetOptions) => runReporting(() => getPods(resource, name, o)));
}
