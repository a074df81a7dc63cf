// Streaming end to end: `nodelet run` against real containerd with a host-network busybox pod,
// then /run (ExecSync), `nodelet exec` as a child process (exit codes, stdout/stderr, piped
// stdin), attach and port-forward through nodelet's upgrade proxy to containerd's streaming
// server, spoken over WebSocket (v4.channel.k8s.io) with the ws package; for SPDY/3.1 (what
// kubectl and API servers speak) the upgrade handshake through the proxy.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import WebSocket from 'ws';
import { CriClient } from '../../src/runtime/cri/index.js';
import { projectRoot, testRuntimeEnv } from '../runtime-env.js';
import { eventually, removePodsInNamespace, runCli, type CliResult } from './helpers.js';
import { freePort, NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'stream';
const V4 = 'v4.channel.k8s.io';

function manifest(httpPort: number): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: streamer
  namespace: ${ns}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: ["sleep", "3600"]
    - name: web
      image: ${image}
      command: ["sh", "-c", "mkdir -p /tmp/www && echo hello-from-httpd > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:${httpPort} -h /tmp/www"]
    - name: ticker
      image: ${image}
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
`;
}

const hasScript = spawnSync('script', ['--version']).status === 0;
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `nodelet ...` with stdin piped: writes `input` (and ends stdin when asked). */
function runCliWithInput(args: string[], input: string, endStdin: boolean): Promise<CliResult> {
  return runWithInput(process.execPath, [join(projectRoot, 'bin/nodelet.js'), ...args], input, endStdin ? 0 : -1);
}

/** Runs a command with stdin piped: writes `input` after `delayMs` (0: at once, and ends stdin; -1: at once, stdin left open; >0: later, left open). */
function runWithInput(cmd: string, args: string[], input: string, delayMs: number, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    if (delayMs > 0) setTimeout(() => child.stdin.write(input), delayMs);
    else child.stdin.write(input);
    if (delayMs === 0) child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

interface Session {
  ws: WebSocket;
  messages: Buffer[];
  closed: Promise<void>;
}

function openWs(url: string, protocols: string[]): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, handshakeTimeout: 20_000 });
    const messages: Buffer[] = [];
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('message', (d: Buffer) => messages.push(d));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body}`)));
    });
    ws.once('error', (e) => reject(e));
  });
}

const channel = (messages: Buffer[], ch: number): Buffer => Buffer.concat(messages.filter((m) => m[0] === ch).map((m) => m.subarray(1)));

if (!env.available) {
  test('streaming against containerd', { skip: env.reason }, () => {});
} else {
  describe('streaming against containerd', { concurrency: false, timeout: 300_000 }, () => {
    let rt: CriClient;
    let n: NodeletProcess;
    let httpPort = 0;
    let server = '';
    const podName = (): string => `streamer-${n.nodeName}`;
    const cli = (...args: string[]): Promise<CliResult> => runCli(['exec', 'streamer', '-n', ns, '--server', server, ...args]);

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'stream-node', extraArgs: ['--node-ip', '127.0.0.1'] });
      await n.start();
      server = `http://127.0.0.1:${n.port}`;
      httpPort = await freePort();
      n.writeManifest('streamer.yaml', manifest(httpPort));
      await eventually(async () => {
        const p = await n.pod('streamer');
        return p?.status?.containerStatuses?.length === 3 && p.status.containerStatuses.every((c) => c.ready) ? p : undefined;
      }, 90_000, 'streamer Running with its 3 containers ready');
      const probe = await fetch(`${server}/run/${ns}/${podName()}/main?cmd=true`, { method: 'POST' });
      if (probe.status === 404 && (await probe.text()).startsWith('404 page not found')) throw new Error('the streaming routes are not wired into `nodelet run` (registerStreamingRoutes)');
      // httpd is listening once a request through /run answers
      await eventually(async () => {
        const r = await fetch(`${server}/run/${ns}/${podName()}/main?cmd=${encodeURIComponent(`wget -qO- http://127.0.0.1:${httpPort}/`)}`, { method: 'POST' });
        return r.ok;
      }, 30_000, 'httpd in the web container to answer');
    });

    after(async () => {
      await n?.stop();
      if (rt) {
        await removePodsInNamespace(rt, ns);
        rt.close();
      }
      n?.cleanup();
    });

    it('/run answers the combined output of ExecSync', async () => {
      let r = await fetch(`${server}/run/${ns}/${podName()}/main?cmd=${encodeURIComponent('echo hello from run')}`, { method: 'POST' });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'hello from run\n');
      r = await fetch(`${server}/run/${ns}/${podName()}/main`, { method: 'POST', body: new URLSearchParams({ cmd: 'ls /nonexistent' }) });
      assert.equal(r.status, 500);
      assert.match(await r.text(), /^command 'ls \/nonexistent' exited with 1: ls: \/nonexistent: No such file or directory/);
      r = await fetch(`${server}/run/${ns}/${podName()}/nope?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 404);
      assert.match(await r.text(), /container nope is not valid for pod streamer-stream-node/);
    });

    it('nodelet exec: output, stderr and exit codes', async () => {
      let r = await cli('-c', 'main', '--', 'echo', 'hi');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'hi\n');
      assert.equal(r.stderr, '');
      r = await cli('-c', 'main', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3');
      assert.equal(r.code, 3);
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\ncommand terminated with exit code 3\n');
      // the default container (the first), named on stderr
      r = await cli('--', 'sh', '-c', 'exit 0');
      assert.equal(r.code, 0);
      assert.equal(r.stderr, 'Defaulted container "main" out of: main, web, ticker\n');
      r = await cli('-c', 'main', '--', '/no/such/binary');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no such file or directory|not found/i);
      r = await runCli(['exec', 'missing', '-n', ns, '--server', server, '--', 'ls']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'Error from server (NotFound): pods "missing" not found\n');
    });

    it('nodelet exec -i: piped stdin reaches the command', async () => {
      let r = await runCliWithInput(['exec', 'streamer', '-n', ns, '-c', 'main', '-i', '--server', server, '--', 'sh', '-c', 'read x; echo got $x'], 'world\n', false);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'got world\n');
      r = await runCliWithInput(['exec', 'streamer', '-n', ns, '-c', 'main', '-i', '--server', server, '--', 'sh', '-c', 'read a; read b; echo "$b $a"; exit 4'], 'one\ntwo\n', true);
      assert.equal(r.code, 4);
      assert.equal(r.stdout, 'two one\n');
    });

    it('nodelet exec -it in a terminal (a PTY from script(1)): raw mode, terminal size, exit code', { skip: hasScript ? false : 'script(1) is not installed' }, async () => {
      const execArgs = ['exec', '-it', 'streamer', '-n', ns, '-c', 'main', '--server', server, '--', 'sh', '-c', 'read x; stty size; echo got:$x; exit 5'];
      // (stty after read: the runtime applies the first resize asynchronously, right after the start)
      const inner = `stty cols 101 rows 23; ${[process.execPath, join(projectRoot, 'bin/nodelet.js'), ...execArgs].map(shellQuote).join(' ')}; echo rc=$?`;
      const r = await runWithInput('script', ['-qec', inner, '/dev/null'], 'abc\r', 3000);
      const out = r.stdout.replace(/\r/g, '');
      assert.match(out, /(^|\n)23 101\ngot:abc\n/, out);
      assert.match(out, /command terminated with exit code 5\nrc=5\n$/, out);
    });

    it('exec with a TTY over WebSocket: resize accepted, output through the terminal', async () => {
      const s = await openWs(`ws://127.0.0.1:${n.port}/exec/${ns}/${podName()}/main?command=sh&command=-c&command=${encodeURIComponent('read x; stty size; echo tty:$x')}&input=1&output=1&tty=1`, [V4]);
      assert.equal(s.ws.protocol, V4);
      s.ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: 91, Height: 17 }))]));
      s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('abc\r')]));
      await s.closed;
      const out = channel(s.messages, 1).toString();
      assert.match(out, /17 91/);
      assert.match(out, /tty:abc/);
      assert.equal(JSON.parse(channel(s.messages, 3).toString()).status, 'Success');
    });

    it('attach streams the running process output', async () => {
      const s = await openWs(`ws://127.0.0.1:${n.port}/attach/${ns}/${podName()}/ticker?output=1&error=1`, [V4]);
      await eventually(async () => (channel(s.messages, 1).toString().match(/tick \d+\n/g)?.length ?? 0) >= 2, 10_000, 'two tick lines through attach');
      s.ws.close();
      await s.closed;
    });

    it('port-forward over WebSocket reaches httpd in the host-network pod', async () => {
      const s = await openWs(`ws://127.0.0.1:${n.port}/portForward/${ns}/${podName()}?port=${httpPort}`, [V4]);
      const portBytes = Buffer.from([httpPort & 0xff, httpPort >> 8]);
      await eventually(async () => channel(s.messages, 0).length >= 2 && channel(s.messages, 1).length >= 2, 10_000, 'the port header on both channels');
      assert.deepEqual(channel(s.messages, 0).subarray(0, 2), portBytes);
      assert.deepEqual(channel(s.messages, 1).subarray(0, 2), portBytes);
      s.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n')]));
      await eventually(async () => channel(s.messages, 0).toString().includes('hello-from-httpd'), 10_000, 'the httpd answer through the forward');
      const answer = channel(s.messages, 0).subarray(2).toString();
      assert.match(answer, /^HTTP\/1\.[01] 200 OK/);
      s.ws.close();
      await s.closed;
    });

    it("SPDY upgrades pass the proxy: containerd's streaming server answers 101 SPDY/3.1", async () => {
      for (const [path, proto] of [
        [`/exec/${ns}/${podName()}/main?command=ls&output=1&error=1`, 'v4.channel.k8s.io'],
        [`/attach/${ns}/${podName()}/ticker?output=1`, 'v4.channel.k8s.io'],
        [`/portForward/${ns}/${podName()}`, 'portforward.k8s.io'],
      ] as const) {
        const req = request({ host: '127.0.0.1', port: n.port, method: 'POST', path, headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': proto } });
        req.end();
        const [res, socket] = (await once(req, 'upgrade')) as [IncomingMessage, Socket];
        assert.equal(res.statusCode, 101, path);
        assert.equal(res.headers.upgrade, 'SPDY/3.1', path);
        assert.equal(res.headers['x-stream-protocol-version'], proto, path);
        socket.destroy();
      }
    });

    it('unknown pods and non-upgrade requests are refused before the runtime is asked', async () => {
      await assert.rejects(openWs(`ws://127.0.0.1:${n.port}/exec/${ns}/nope/main?command=ls&output=1`, [V4]), /upgrade refused: 404 pod "nope" not found in namespace "stream"/);
      await assert.rejects(openWs(`ws://127.0.0.1:${n.port}/portForward/${ns}/${podName()}`, [V4]), /upgrade refused: 400 query parameter "port" is required/);
      const r = await fetch(`${server}/exec/${ns}/${podName()}/main?command=ls&output=1`);
      assert.equal(r.status, 400);
      assert.equal(await r.text(), 'Upgrade request required\n');
    });
  });
}
