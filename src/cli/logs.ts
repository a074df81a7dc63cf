// `nodelet logs POD [CONTAINER]`: kubectl logs against a running nodelet's local API
// (GET /pods to find the pod, then GET /containerLogs/{namespace}/{pod}/{container}).
//
// As kubectl: -c/--container (or an inline CONTAINER), else the pod's
// `kubectl.kubernetes.io/default-container` annotation, else its first container with
// `Defaulted container "a" out of: a, b, setup (init)` on stderr; -f/--follow streams until the
// container exits or Ctrl-C; -p/--previous; --tail N (-1: all); --since DURATION (rounded to whole
// seconds); --since-time RFC3339; --timestamps; --limit-bytes N; the "default" namespace unless -n;
// errors worded as kubectl's (`Error from server (BadRequest): previous terminated container "c"
// in pod "p" not found`, `error: container c is not valid for pod p`).
// Nodelet's own: POD may be a static pod's manifest name without the `-<node name>` suffix.

import type { Command } from 'commander';
import type { V1Pod } from '@kubernetes/client-node';
import { isRfc3339 } from '../kubelet/logs/crilog.js';
import { parseDuration } from '../util/duration.js';
import { CommandFailed, defaultNamespace, defaultServer, fetchPods, findPods, notFound, podNameArg, runReporting } from './get.js';

const headersTimeoutMs = 30_000;
export const defaultContainerAnnotation = 'kubectl.kubernetes.io/default-container';

export interface LogsCommandOptions {
  container?: string;
  namespace?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  since?: string;
  sinceTime?: string;
  timestamps?: boolean;
  limitBytes?: string;
  server: string;
}

/** kubectl's AllContainerNames: containers, then ephemeral ones "(ephem)", then init ones "(init)". */
export function allContainerNames(pod: V1Pod): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  for (const c of pod.spec?.ephemeralContainers ?? []) names.push(`${c.name} (ephem)`);
  for (const c of pod.spec?.initContainers ?? []) names.push(`${c.name} (init)`);
  return names.join(', ');
}

/** The container to read, as kubectl logs picks it; notes go to `warn` (stderr). */
export function chooseContainer(pod: V1Pod, name: string | undefined, warn: (s: string) => void): string {
  const podName = pod.metadata?.name ?? '';
  const containers = pod.spec?.containers ?? [];
  const all = [...containers, ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
  let chosen = name;
  if (!chosen) {
    const annotated = pod.metadata?.annotations?.[defaultContainerAnnotation];
    if (annotated) {
      if (all.some((c) => c.name === annotated)) chosen = annotated;
      else warn(`Default container name "${annotated}" not found in pod ${podName}\n`);
    }
  }
  if (!chosen) {
    if (containers.length === 0) throw new CommandFailed(`error: pod ${pod.metadata?.namespace ?? ''}/${podName} does not have any containers`);
    chosen = containers[0]!.name;
    if (containers.length > 1 || (pod.spec?.initContainers ?? []).length > 0 || (pod.spec?.ephemeralContainers ?? []).length > 0) {
      warn(`Defaulted container "${chosen}" out of: ${allContainerNames(pod)}\n`);
    }
  }
  if (!all.some((c) => c.name === chosen)) throw new CommandFailed(`error: container ${chosen} is not valid for pod ${podName}`);
  return chosen;
}

function parseIntFlag(flag: string, v: string): number {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new CommandFailed(`error: invalid argument "${v}" for "${flag}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v.trim());
}

/** The /containerLogs query for the options (validated as kubectl's LogsOptions.Validate). */
export function logsQuery(o: LogsCommandOptions): URLSearchParams {
  const q = new URLSearchParams();
  let sinceSeconds: number | undefined;
  if (o.since !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(o.since);
    } catch {
      throw new CommandFailed(`error: invalid argument "${o.since}" for "--since" flag: time: invalid duration "${o.since}"`);
    }
    if (ms !== 0) sinceSeconds = Math.round(ms / 1000);
  }
  if (o.sinceTime && sinceSeconds !== undefined) throw new CommandFailed('error: at most one of `sinceTime` or `sinceSeconds` may be specified');
  const limitBytes = o.limitBytes !== undefined ? parseIntFlag('--limit-bytes', o.limitBytes) : 0;
  if (limitBytes < 0) throw new CommandFailed('error: --limit-bytes must be greater than 0');
  if (sinceSeconds !== undefined && sinceSeconds < 0) throw new CommandFailed('error: --since must be greater than 0');
  const tail = o.tail !== undefined ? parseIntFlag('--tail', o.tail) : -1;
  if (tail < -1) throw new CommandFailed('error: --tail must be greater than or equal to -1');
  if (o.sinceTime && !isRfc3339(o.sinceTime)) {
    throw new CommandFailed(`error: parsing time "${o.sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse "${o.sinceTime}" as RFC 3339`);
  }
  if (o.follow) q.set('follow', 'true');
  if (o.previous) q.set('previous', 'true');
  if (o.timestamps) q.set('timestamps', 'true');
  if (tail !== -1) q.set('tailLines', String(tail));
  if (limitBytes !== 0) q.set('limitBytes', String(limitBytes));
  if (sinceSeconds !== undefined) q.set('sinceSeconds', String(sinceSeconds));
  if (o.sinceTime) q.set('sinceTime', o.sinceTime);
  return q;
}


async function writeOut(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

export async function podLogs(podArg: string, containerArg: string | undefined, o: LogsCommandOptions): Promise<void> {
  if (o.container && containerArg) throw new CommandFailed('error: only one of -c or an inline [CONTAINER] arg is allowed');
  const query = logsQuery(o);
  const name = podNameArg(podArg);
  const namespace = o.namespace || defaultNamespace;
  const pod = findPods(await fetchPods(o.server), name, namespace)[0];
  if (!pod) throw notFound(name);
  const container = chooseContainer(pod, o.container || containerArg, (s) => process.stderr.write(s));
  const base = o.server.replace(/\/+$/, '');
  const path = `/containerLogs/${encodeURIComponent(pod.metadata?.namespace ?? namespace)}/${encodeURIComponent(pod.metadata?.name ?? name)}/${encodeURIComponent(container)}`;
  const qs = query.toString();
  const url = `${base}${path}${qs ? `?${qs}` : ''}`;

  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no answer within ${headersTimeoutMs / 1000}s`)), headersTimeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { signal: ac.signal });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    throw new CommandFailed(`The connection to the nodelet local API at ${base} failed (${cause}) - is nodelet running? Start it with \`nodelet run\`, or point --server at its healthzBindAddress:healthzPort.`);
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok) {
    const body = (await res.text()).trim();
    const kind = res.status === 400 ? 'BadRequest' : res.status === 404 ? 'NotFound' : res.status === 500 ? 'InternalError' : '';
    throw new CommandFailed(kind ? `Error from server (${kind}): ${body}` : `Error from server: GET ${url}: ${res.status} ${res.statusText}${body ? `: ${body}` : ''}`);
  }
  if (!res.body) return;
  const decoder = new TextDecoder('utf-8');
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const s = decoder.decode(value, { stream: true });
      if (s) await writeOut(s);
    }
  } catch (e) {
    throw new CommandFailed(`error: the log stream from ${base} broke off: ${e instanceof Error ? e.message : String(e)}`);
  }
  const rest = decoder.decode();
  if (rest) await writeOut(rest);
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("print a container's log from a running nodelet, like kubectl logs (reads /pods and /containerLogs)")
    .argument('<pod>', 'pod name (or pod/NAME); a static pod also answers to the name in its manifest, without the "-<node name>" suffix')
    .argument('[container]', 'container name (same as -c)')
    .option('-c, --container <name>', "the container (default: the pod's kubectl.kubernetes.io/default-container annotation, else its first container)")
    .option('-n, --namespace <ns>', 'namespace', defaultNamespace)
    .option('-f, --follow', 'stream the log until the container exits (or Ctrl-C)')
    .option('-p, --previous', 'the log of the previous, terminated instance of the container')
    .option('--tail <lines>', 'only the last N lines (-1: all)')
    .option('--since <duration>', 'only lines newer than a relative duration like 5s, 2m or 3h')
    .option('--since-time <time>', 'only lines after an RFC 3339 time')
    .option('--timestamps', 'prefix each line with its RFC3339Nano timestamp')
    .option('--limit-bytes <n>', 'stop after N bytes')
    .option('--server <url>', "the nodelet's local API (http://healthzBindAddress:healthzPort)", defaultServer)
    .addHelpText(
      'after',
      `
Examples:
  nodelet logs web                     # static pod "web" from a manifest, served as "web-<node name>"
  nodelet logs web -c sidecar --previous
  nodelet logs -f --tail 10 web        # the last 10 lines, then follow
  nodelet logs etcd -n kube-system --since 1h --timestamps`,
    )
    .action(async (pod: string, container: string | undefined, o: LogsCommandOptions) => runReporting(() => podLogs(pod, container, o)));
}
