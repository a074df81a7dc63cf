// `nodelet exec` against a fake nodelet local API: /pods for the pod lookup and an /exec upgrade
// answered by the ws package speaking the channel protocol (v4, or v5 when offered and enabled).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { Command } from 'commander';
import WebSocket, { WebSocketServer } from 'ws';
import { execInPod, execURL, exitFromStatus, registerExecCommand, type ExecIO } from './exec.js';
import { CommandFailed } from './get.js';

const pods: V1Pod[] = [
  {
    metadata: { name: 'web-node1', namespace: 'default', annotations: { 'kubernetes.io/config.source': 'file' } },
    spec: { nodeName: 'node1', containers: [{ name: 'main', image: 'busybox' }] },
    status: { phase: 'Running' },
  },
  {
    metadata: { name: 'multi', namespace: 'apps' },
    spec: { containers: [{ name: 'app', image: 'busybox' }, { name: 'side', image: 'busybox' }], initContainers: [{ name: 'setup', image: 'busybox' }] },
    status: { phase: 'Running' },
  },
  { metadata: { name: 'done', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] }, status: { phase: 'Succeeded' } },
];

function status(code: number | 'error'): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  if (code === 'error') return JSON.stringify({ metadata: {}, status: 'Failure', message: 'container not running', reason: 'InternalError' });
  return JSON.stringify({ metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } });
}

const frame = (ch: number, s: string | Buffer): Buffer => Buffer.concat([Buffer.from([ch]), typeof s === 'string' ? Buffer.from(s) : s]);

/**
 * Commands the fake understands: `both` (out/err then success), `fail N`, `oops` (a Failure
 * without exit code), `line` (reads one stdin line, answers "got X"), `cat` (echoes stdin until
 * v5's close, then exits 0), `wait` (exits 0 after the second resize).
 */
class FakeNodelet {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  v5 = false;
  refuse: { status: number; body: string } | undefined;
  urls: string[] = [];
  received: Buffer[] = [];
  protocols: string[] = [];
  base = '';

  constructor() {
    this.http = createServer((req, res) => {
      if (req.url === '/pods') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: pods }));
        return;
      }
      res.writeHead(404).end('404 page not found\n');
    });
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (p: Set<string>) => {
        this.protocols = [...p];
        if (this.v5 && p.has('v5.channel.k8s.io')) return 'v5.channel.k8s.io';
        return p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false;
      },
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.urls.push(req.url ?? '');
      if (this.refuse) {
        const b = Buffer.from(this.refuse.body);
        socket.end(`HTTP/1.1 ${this.refuse.status} Nope\r\nContent-Type: text/plain\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n${this.refuse.body}`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.session(ws, new URL(req.url ?? '/', 'http://x').searchParams.getAll('command')));
    });
  }

  private session(ws: WebSocket, cmd: string[]): void {
    ws.send(Buffer.from([1]));
    const done = (code: number | 'error'): void => {
      ws.send(frame(3, status(code)));
      ws.close();
    };
    let stdin = '';
    ws.on('message', (d: Buffer) => {
      this.received.push(d);
      if (d[0] === 0) stdin += d.subarray(1).toString();
      if (cmd[0] === 'line' && stdin.includes('\n')) {
        ws.send(frame(1, `got ${stdin.split('\n')[0]}\n`));
        done(0);
      }
      if (cmd[0] === 'cat' && d[0] === 0) ws.send(frame(1, d.subarray(1)));
      if (cmd[0] === 'cat' && d[0] === 255 && d[1] === 0) done(0);
      if (cmd[0] === 'wait' && d[0] === 4 && this.received.filter((m) => m[0] === 4).length === 2) done(0);
    });
    if (cmd[0] === 'both') {
      ws.send(frame(1, 'out\n'));
      ws.send(frame(2, 'err\n'));
      done(0);
    } else if (cmd[0] === 'fail') done(Number(cmd[1]));
    else if (cmd[0] === 'oops') done('error');
  }

  async start(): Promise<void> {
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    this.base = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}

interface TestIO extends ExecIO {
  out: () => string;
  err: () => string;
  rawModes: boolean[];
  input: PassThrough;
  output: PassThrough & { columns?: number; rows?: number };
}

function testIO(opts: { tty?: boolean } = {}): TestIO {
  const input = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  const output = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; rows?: number };
  const errput = new PassThrough();
  const rawModes: boolean[] = [];
  if (opts.tty) {
    input.isTTY = true;
    input.setRawMode = (raw: boolean) => rawModes.push(raw);
    output.isTTY = true;
    output.columns = 120;
    output.rows = 40;
  }
  let out = '';
  let err = '';
  output.on('data', (d: Buffer) => (out += d.toString()));
  errput.on('data', (d: Buffer) => (err += d.toString()));
  return { stdin: input, stdout: output, stderr: errput, out: () => out, err: () => err, rawModes, input, output };
}

describe('exec helpers', () => {
  it('exit codes from the v4 status', () => {
    assert.deepEqual(exitFromStatus(status(0)), { code: 0 });
    assert.deepEqual(exitFromStatus(status(42)), { code: 42 });
    assert.deepEqual(exitFromStatus(''), { code: 0 });
    assert.deepEqual(exitFromStatus(status('error')), { code: 1, message: 'container not running' });
    assert.deepEqual(exitFromStatus('plain text error (v1)'), { code: 1, message: 'plain text error (v1)' });
  });

  it('the exec URL carries the kubelet query names', () => {
    const u = new URL(execURL('http://127.0.0.1:10248/', 'ns', 'p', 'c', ['sh', '-c', 'echo a b'], { stdin: true, tty: false }));
    assert.equal(u.protocol, 'ws:');
    assert.equal(u.pathname, '/exec/ns/p/c');
    assert.deepEqual(u.searchParams.getAll('command'), ['sh', '-c', 'echo a b']);
    assert.equal(u.searchParams.get('input'), '1');
    assert.equal(u.searchParams.get('output'), '1');
    assert.equal(u.searchParams.get('error'), '1');
    assert.equal(u.searchParams.get('tty'), null);
    const t = new URL(execURL('https://h:1', 'ns', 'p', 'c', ['sh'], { stdin: true, tty: true }));
    assert.equal(t.protocol, 'wss:');
    assert.equal(t.searchParams.get('tty'), '1');
    assert.equal(t.searchParams.get('error'), null);
  });
});

describe('nodelet exec', () => {
  const fake = new FakeNodelet();
  before(() => fake.start());
  after(() => fake.close());
  beforeEach(() => {
    fake.v5 = false;
    fake.refuse = undefined;
    fake.urls = [];
    fake.received = [];
  });

  it('routes stdout and stderr and exits 0; a static pod by its short name', async () => {
    const io = testIO();
    const code = await execInPod('web', ['both'], { server: fake.base }, io);
    assert.equal(code, 0);
    assert.equal(io.out(), 'out\n');
    assert.equal(io.err(), 'err\n');
    const u = new URL(fake.urls[0]!, 'http://x');
    assert.equal(u.pathname, '/exec/default/web-node1/main');
    assert.equal(u.searchParams.get('input'), null, 'stdin is not requested without -i');
    assert.deepEqual(fake.protocols, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  });

  it("exits with the command's exit code, saying so on stderr", async () => {
    const io = testIO();
    assert.equal(await execInPod('web', ['fail', '7'], { server: fake.base }, io), 7);
    assert.equal(io.err(), 'command terminated with exit code 7\n');
    const quiet = testIO();
    assert.equal(await execInPod('web', ['fail', '7'], { server: fake.base, quiet: true }, quiet), 7);
    assert.equal(quiet.err(), '');
  });

  it('a Failure status without exit code is an error', async () => {
    await assert.rejects(execInPod('web', ['oops'], { server: fake.base }, testIO()), (e: Error) => e instanceof CommandFailed && e.message === 'error: container not running');
  });

  it('-i sends stdin on channel 0 (v4: the line the command reads)', async () => {
    const io = testIO();
    const p = execInPod('web', ['line'], { server: fake.base, stdin: true }, io);
    io.input.write('hello\n'); // typed before the stream is open: kept until it is
    assert.equal(await p, 0);
    assert.equal(io.out(), 'got hello\n');
    assert.equal(new URL(fake.urls[0]!, 'http://x').searchParams.get('input'), '1');
    assert.deepEqual(fake.received[0], frame(0, 'hello\n'));
  });

  it('-i with v5: the end of stdin is sent as a close of stream 0', async () => {
    fake.v5 = true;
    const io = testIO();
    const p = execInPod('web', ['cat'], { server: fake.base, stdin: true }, io);
    io.input.write('a\n');
    io.input.end('b\n');
    assert.equal(await p, 0);
    assert.equal(io.out(), 'a\nb\n');
    assert.deepEqual(fake.received.at(-1), Buffer.from([255, 0]));
  });

  it('-t on a terminal: raw mode, no stderr stream, the size and resizes sent', async () => {
    const io = testIO({ tty: true });
    const p = execInPod('multi', ['wait'], { server: fake.base, namespace: 'apps', container: 'side', stdin: true, tty: true }, io);
    while (fake.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    io.output.columns = 100;
    io.output.rows = 30;
    io.output.emit('resize');
    const code = await p;
    assert.equal(code, 0);
    assert.deepEqual(io.rawModes, [true, false]);
    const u = new URL(fake.urls[0]!, 'http://x');
    assert.equal(u.pathname, '/exec/apps/multi/side');
    assert.equal(u.searchParams.get('tty'), '1');
    assert.equal(u.searchParams.get('error'), null);
    assert.deepEqual(fake.received[0], frame(4, JSON.stringify({ Width: 120, Height: 40 })));
    assert.deepEqual(fake.received[1], frame(4, JSON.stringify({ Width: 100, Height: 30 })));
    assert.equal(io.output.listenerCount('resize'), 0, 'the resize listener is removed');
  });

  it('-t without a terminal (or without -i) falls back to no TTY', async () => {
    const io = testIO();
    assert.equal(await execInPod('web', ['both'], { server: fake.base, stdin: true, tty: true }, io), 0);
    assert.match(io.err(), /Unable to use a TTY - input is not a terminal or the right kind of file/);
    assert.equal(new URL(fake.urls[0]!, 'http://x').searchParams.get('tty'), null);
    const io2 = testIO();
    assert.equal(await execInPod('web', ['both'], { server: fake.base, tty: true }, io2), 0);
    assert.equal(io2.err(), 'err\n');
    assert.equal(new URL(fake.urls[1]!, 'http://x').searchParams.get('tty'), null);
  });

  it('defaults the container as kubectl does, saying so unless -q; pod/NAME', async () => {
    const io = testIO();
    assert.equal(await execInPod('pod/multi', ['both'], { server: fake.base, namespace: 'apps' }, io), 0);
    assert.equal(io.err(), 'Defaulted container "app" out of: app, side, setup (init)\nerr\n');
    assert.equal(new URL(fake.urls[0]!, 'http://x').pathname, '/exec/apps/multi/app');
    const quiet = testIO();
    assert.equal(await execInPod('multi', ['both'], { server: fake.base, namespace: 'apps', quiet: true }, quiet), 0);
    assert.equal(quiet.err(), 'err\n');
    await assert.rejects(execInPod('deploy/multi', ['ls'], { server: fake.base }, testIO()), /the server doesn't have a resource type "deploy"/);
  });

  it('refusals and lookups fail as kubectl reports them', async () => {
    await assert.rejects(execInPod('nope', ['ls'], { server: fake.base }, testIO()), /Error from server \(NotFound\): pods "nope" not found/);
    await assert.rejects(execInPod('web', [], { server: fake.base }, testIO()), /you must specify at least one command/);
    await assert.rejects(execInPod('done', ['ls'], { server: fake.base }, testIO()), /cannot exec into a container in a completed pod; current phase is Succeeded/);
    await assert.rejects(execInPod('web', ['ls'], { server: fake.base, container: 'other' }, testIO()), /container other is not valid for pod web-node1/);
    fake.refuse = { status: 500, body: 'Exec: container is not running\n' };
    await assert.rejects(execInPod('web', ['ls'], { server: fake.base }, testIO()), (e: Error) => e instanceof CommandFailed && e.message === 'error: unable to upgrade connection: Exec: container is not running');
    await assert.rejects(execInPod('web', ['ls'], { server: 'http://127.0.0.1:1' }, testIO()), /is nodelet running\?/);
  });

  it('the command line: flags, -- and the exit code', async () => {
    const program = new Command();
    program.exitOverride();
    registerExecCommand(program);
    const saved = process.exitCode;
    try {
      await program.parseAsync(['exec', 'multi', '-n', 'apps', '-c', 'side', '--server', fake.base, '-q', '--', 'fail', '5'], { from: 'user' });
      assert.equal(process.exitCode, 5);
    } finally {
      process.exitCode = saved;
    }
    const u = new URL(fake.urls[0]!, 'http://x');
    assert.equal(u.pathname, '/exec/apps/multi/side');
    assert.deepEqual(u.searchParams.getAll('command'), ['fail', '5']);
  });
});
