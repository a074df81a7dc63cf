// `nodelet exec POD [-c NAME] [-n NS] [-i] [-t] -- CMD ARGS...`: kubectl exec against a running
// nodelet's local API (/exec/{ns}/{pod}/{container}), spoken over WebSocket.
//
// The channel protocol (k8s.io/apimachinery wsstream, subprotocol v4.channel.k8s.io; v5 is
// offered first, which adds closing stdin): every binary message starts with its stream's
// number: 0 stdin, 1 stdout, 2 stderr, 3 error (v4: a metav1.Status, the exit code in
// details.causes[reason=ExitCode]), 4 resize ({"Width":80,"Height":24}); v5 adds 255 close
// ([255, stream]). As kubectl does: -t needs -i and a terminal on stdin ("Unable to use a TTY"),
// puts the terminal in raw mode and sends its size (and every resize); without -i stdin is not
// read at all; a TTY merges stderr into stdout; a pod with several containers defaults to
// kubectl.kubernetes.io/default-container or its first container, saying so on stderr; the
// command's exit code becomes nodelet's ("command terminated with exit code N" on stderr).

import type { Command } from 'commander';
import WebSocket from 'ws';
import { CommandFailed, defaultNamespace, defaultServer, fetchPods, findPods, notFound, podNameArg, runReporting } from './get.js';
import { chooseContainer } from './logs.js';

export const channelProtocolV4 = 'v4.channel.k8s.io';
export const channelProtocolV5 = 'v5.channel.k8s.io';
export const StreamStdin = 0;
export const StreamStdout = 1;
export const StreamStderr = 2;
export const StreamError = 3;
export const StreamResize = 4;
export const StreamClose = 255;
const handshakeTimeoutMs = 30_000;

export interface ExecOptions {
  container?: string;
  namespace?: string;
  stdin?: boolean;
  tty?: boolean;
  quiet?: boolean;
  server: string;
}

/** The terminal/streams exec talks to (process.stdin/stdout/stderr by default; tests pass their own). */
export interface ExecIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number; on(ev: 'resize', fn: () => void): unknown; off?(ev: 'resize', fn: () => void): unknown };
  stderr: NodeJS.WritableStream;
}

export function processIO(): ExecIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** A metav1.Status from the error channel. */
export interface ExecStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/**
 * The exit code a v4 error-channel payload means: 0 for Success, the ExitCode cause for
 * NonZeroExitCode; otherwise an error message (v1-v3 send plain text).
 */
export function exitFromStatus(payload: string): { code: number; message?: string } {
  if (!payload.trim()) return { code: 0 };
  let st: ExecStatus;
  try {
    st = JSON.parse(payload) as ExecStatus;
  } catch {
    return { code: 1, message: payload.trim() };
  }
  if (st.status === 'Success') return { code: 0 };
  if (st.reason === 'NonZeroExitCode') {
    const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode');
    const n = Number(cause?.message);
    if (cause && Number.isInteger(n)) return { code: n };
  }
  return { code: 1, message: st.message || payload.trim() };
}

/** The local API's exec URL (ws://), with the kubelet's query names. */
export function execURL(server: string, namespace: string, pod: string, container: string, command: string[], o: { stdin: boolean; tty: boolean }): string {
  const base = new URL(server.replace(/\/+$/, '') + '/');
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const path = ['exec', namespace, pod, container].map(encodeURIComponent).join('/');
  const q = new URLSearchParams();
  for (const c of command) q.append('command', c);
  if (o.stdin) q.set('input', '1');
  q.set('output', '1');
  if (!o.tty) q.set('error', '1');
  if (o.tty) q.set('tty', '1');
  return new URL(`${path}?${q.toString()}`, base).toString();
}


function frame(stream: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from([stream]), payload]);
}

/** Runs the command in the pod's container; resolves with the command's exit code. */
export async function execInPod(podArg: string, command: string[], o: ExecOptions, io: ExecIO = processIO()): Promise<number> {
  if (command.length === 0) throw new CommandFailed('error: you must specify at least one command for the container');
  const namespace = o.namespace || defaultNamespace;
  const podName = podNameArg(podArg);
  const found = findPods(await fetchPods(o.server), podName, namespace);
  if (found.length === 0) throw notFound(podName);
  const pod = found[0]!;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') throw new CommandFailed(`error: cannot exec into a container in a completed pod; current phase is ${phase}`);
  const container = chooseContainer(pod, o.container, (msg) => {
    if (!o.quiet) io.stderr.write(msg);
  });

  // kubectl's SetupTTY: a TTY only with stdin, and only when stdin is a terminal
  const stdin = !!o.stdin;
  let tty = !!o.tty && stdin;
  if (tty && !io.stdin.isTTY) {
    tty = false;
    if (!o.quiet) io.stderr.write('Unable to use a TTY - input is not a terminal or the right kind of file\n');
  }

  const url = execURL(o.server, namespace, pod.metadata?.name ?? podName, container, command, { stdin, tty });
  const ws = new WebSocket(url, [channelProtocolV5, channelProtocolV4], { perMessageDeflate: false, handshakeTimeout: handshakeTimeoutMs });

  return new Promise<number>((resolve, reject) => {
    let statusText = '';
    let opened = false;
    let settled = false;
    let rawSet = false;
    const cleanups: (() => void)[] = [];
    const finish = (err: Error | undefined, code = 0): void => {
      if (settled) return;
      settled = true;
      for (const c of cleanups.reverse()) c();
      if (err) reject(err);
      else resolve(code);
    };

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        ws.terminate();
        finish(new CommandFailed(`error: unable to upgrade connection: ${body.trim() || `${res.statusCode} ${res.statusMessage}`}`));
      });
      res.on('error', (e) => finish(e));
    });
    ws.on('error', (e: Error) => {
      if (opened) return finish(new CommandFailed(`error: the exec stream failed: ${e.message}`));
      const cause = (e as NodeJS.ErrnoException).code ? `${(e as NodeJS.ErrnoException).code}: ${e.message}` : e.message;
      finish(new CommandFailed(`error: unable to upgrade connection to ${url.split('?')[0]} (${cause}) - is nodelet running? Point --server at its healthzBindAddress:healthzPort.`));
    });
    ws.on('open', () => {
      opened = true;
      const v5 = ws.protocol === channelProtocolV5;
      if (tty) {
        const sendSize = (): void => {
          const w = io.stdout.columns;
          const h = io.stdout.rows;
          if (w && h && ws.readyState === WebSocket.OPEN) ws.send(frame(StreamResize, JSON.stringify({ Width: w, Height: h })));
        };
        if (io.stdin.setRawMode) {
          io.stdin.setRawMode(true);
          rawSet = true;
          cleanups.push(() => {
            if (rawSet) io.stdin.setRawMode?.(false);
          });
        }
        sendSize();
        io.stdout.on('resize', sendSize);
        cleanups.push(() => io.stdout.off?.('resize', sendSize));
      }
      if (stdin) {
        const onData = (d: Buffer | string): void => {
          if (ws.readyState === WebSocket.OPEN) ws.send(frame(StreamStdin, typeof d === 'string' ? Buffer.from(d) : d));
        };
        const onEnd = (): void => {
          // v4 cannot say "stdin is closed"; v5 can
          if (v5 && ws.readyState === WebSocket.OPEN) ws.send(Buffer.from([StreamClose, StreamStdin]));
        };
        io.stdin.on('data', onData);
        io.stdin.once('end', onEnd);
        io.stdin.resume();
        cleanups.push(() => {
          io.stdin.off('data', onData);
          io.stdin.off('end', onEnd);
          io.stdin.pause();
        });
      }
    });
    ws.on('message', (buf: Buffer) => {
      if (buf.length === 0) return;
      const stream = buf[0]!;
      const payload = buf.subarray(1);
      if (payload.length === 0) return; // the server's "connected" notice
      if (stream === StreamStdout) io.stdout.write(payload);
      else if (stream === StreamStderr) io.stderr.write(payload);
      else if (stream === StreamError) statusText += payload.toString('utf8');
    });
    ws.on('close', () => {
      if (!opened) return; // the error/unexpected-response handlers settle it
      const { code, message } = exitFromStatus(statusText);
      if (message) return finish(new CommandFailed(`error: ${message}`));
      // let the terminal leave raw mode before anything more is printed
      if (rawSet) {
        io.stdin.setRawMode?.(false);
        rawSet = false;
      }
      if (code !== 0 && !o.quiet) io.stderr.write(`command terminated with exit code ${code}\n`);
      finish(undefined, code);
    });
  });
}

export function registerExecCommand(program: Command): void {
  program
    .command('exec')
    .description("execute a command in a container of a running nodelet's pod, like kubectl exec (WebSocket to the local API's /exec)")
    .argument('<pod>', 'a pod name (or pod/NAME); a static pod also answers to the name in its manifest, without the "-<node name>" suffix')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('-c, --container <name>', 'container name (default: the kubectl.kubernetes.io/default-container annotation, else the first container)')
    .option('-n, --namespace <ns>', 'namespace', defaultNamespace)
    .option('-i, --stdin', 'pass stdin to the container')
    .option('-t, --tty', 'stdin is a TTY (raw mode, terminal size and resizes are sent)')
    .option('-q, --quiet', 'only print output from the remote session')
    .option('--server <url>', "the nodelet's local API (http://healthzBindAddress:healthzPort)", defaultServer)
    .addHelpText(
      'after',
      `
Examples:
  nodelet exec web -- ls /                         # static pod "web" from a manifest, its only container
  nodelet exec web -c sidecar -n demo -- env       # another container and namespace
  nodelet exec -it web -- sh                       # an interactive shell
  echo hi | nodelet exec -i web -- sh -c 'read x; echo got $x'`,
    )
    .action(async (pod: string, command: string[], o: ExecOptions) =>
      runReporting(async () => {
        const code = await execInPod(pod, command, o);
        process.exitCode = code;
      }),
    );
}
