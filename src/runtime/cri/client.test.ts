// CriClient against an in-process gRPC server speaking the same proto: error mapping, reply
// checks, version refusal, deadlines, unreachable endpoints and reconnection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  BadReplyError,
  DeadlineExceededError,
  NotFoundError,
  RuntimeError,
  UnavailableError,
  UnsupportedRuntimeError,
} from '../errors.js';
import { eventually } from '../../../test/e2e/helpers.js';
import { CriClient, grpcTarget, protoPath } from './client.js';

type Handler = (req: Record<string, unknown>) => unknown | Promise<unknown>;
type Handlers = Record<string, Handler>;

const pkg = grpc.loadPackageDefinition(
  protoLoader.loadSync(protoPath, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }),
) as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } };

class GrpcFailure extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** A fake CRI runtime: every RPC not given a handler answers UNIMPLEMENTED. */
async function startFakeRuntime(sock: string, handlers: Handlers): Promise<grpc.Server> {
  const server = new grpc.Server();
  const impl = (svc: grpc.ServiceClientConstructor): grpc.UntypedServiceImplementation => {
    const out: grpc.UntypedServiceImplementation = {};
    for (const [name, def] of Object.entries(svc.service)) {
      if (def.responseStream) continue;
      const method = def.originalName ?? name;
      out[method] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const h = handlers[name] ?? handlers[method];
        if (!h) return cb({ code: grpc.status.UNIMPLEMENTED, details: `${name} not implemented` });
        Promise.resolve()
          .then(() => h(call.request))
          .then(
            (res) => cb(null, res),
            (e: unknown) => cb({ code: e instanceof GrpcFailure ? e.code : grpc.status.UNKNOWN, details: (e as Error).message }),
          );
      };
    }
    return out;
  };
  server.addService(pkg.runtime.v1.RuntimeService!.service, impl(pkg.runtime.v1.RuntimeService!));
  server.addService(pkg.runtime.v1.ImageService!.service, impl(pkg.runtime.v1.ImageService!));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}

const version: Handler = () => ({ version: '0.1.0', runtimeName: 'fake', runtimeVersion: '9.9', runtimeApiVersion: 'v1' });

describe('CriClient', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-cri-'));
  let n = 0;
  const sockPath = (): string => join(dir, `cri-${++n}.sock`);
  const servers: grpc.Server[] = [];
  after(() => {
    for (const s of servers) s.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fake(handlers: Handlers): Promise<{ sock: string; server: grpc.Server }> {
    const sock = sockPath();
    const server = await startFakeRuntime(sock, { Version: version, ...handlers });
    servers.push(server);
    return { sock, server };
  }

  it('normalizes endpoints and refuses non-unix ones', () => {
    assert.equal(grpcTarget('/run/x.sock'), 'unix:///run/x.sock');
    assert.equal(grpcTarget('unix:///run/x.sock'), 'unix:///run/x.sock');
    assert.throws(() => grpcTarget('tcp://1.2.3.4:10'), /unsupported runtime endpoint "tcp:\/\/1.2.3.4:10"/);
  });

  it('fails fast, naming the endpoint, when nothing listens', async () => {
    const endpoint = `unix://${join(dir, 'nobody-home.sock')}`;
    const t0 = Date.now();
    await assert.rejects(CriClient.connect({ endpoint, timeoutMs: 300 }), (e: unknown) => {
      assert.ok(e instanceof UnavailableError);
      assert.match(e.message, /nobody-home\.sock/);
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, 'does not hang');
  });

  it('refuses a runtime without CRI v1', async () => {
    const old = await fake({ Version: () => ({ version: '0.1.0', runtimeName: 'old', runtimeVersion: '1.4', runtimeApiVersion: 'v1alpha2' }) });
    await assert.rejects(CriClient.connect({ endpoint: old.sock }), (e: unknown) => e instanceof UnsupportedRuntimeError && /v1alpha2/.test(e.message));
    const none = await fake({ Version: () => Promise.reject(new GrpcFailure(grpc.status.UNIMPLEMENTED, 'unknown service runtime.v1.RuntimeService')) });
    await assert.rejects(CriClient.connect({ endpoint: none.sock }), (e: unknown) => e instanceof UnsupportedRuntimeError && /does not serve CRI v1/.test(e.message));
  });

  it('maps gRPC codes to typed errors', async () => {
    const { sock } = await fake({
      ContainerStatus: () => Promise.reject(new GrpcFailure(grpc.status.NOT_FOUND, 'container "abc" not found')),
      StartContainer: () => Promise.reject(new Error('failed to start containerd task')),
    });
    const c = await CriClient.connect({ endpoint: sock });
    try {
      await assert.rejects(c.containerStatus('abc'), (e: unknown) => e instanceof NotFoundError && e.method === 'ContainerStatus' && /not found/.test(e.message));
      await assert.rejects(c.startContainer('abc'), (e: unknown) => e instanceof RuntimeError && e.code === 'UNKNOWN' && /StartContainer: failed to start/.test(e.message));
    } finally {
      c.close();
    }
  });

  it('turns garbage replies into errors naming the method and field', async () => {
    const { sock } = await fake({
      ListContainers: () => ({ containers: [{ id: '', podSandboxId: 'p', state: 'CONTAINER_RUNNING', metadata: { name: 'x' } }] }),
      ContainerStatus: () => ({ status: null }),
      ListPodSandbox: () => ({ items: [{ id: 'p1', metadata: null, state: 'SANDBOX_READY' }] }),
      RunPodSandbox: () => ({ podSandboxId: '' }),
    });
    const c = await CriClient.connect({ endpoint: sock });
    try {
      await assert.rejects(c.listContainers(), (e: unknown) => e instanceof BadReplyError && /ListContainers: malformed reply: containers\[0\]\.id is empty/.test(e.message));
      await assert.rejects(c.containerStatus('x'), (e: unknown) => e instanceof BadReplyError && /ContainerStatus/.test(e.message));
      await assert.rejects(c.listPodSandbox(), (e: unknown) => e instanceof BadReplyError && /items\[0\]\.metadata is missing/.test(e.message));
      await assert.rejects(
        c.runPodSandbox({ metadata: { name: 'a', namespace: 'b', uid: 'c', attempt: 0 } }),
        (e: unknown) => e instanceof BadReplyError && /podSandboxId is empty/.test(e.message),
      );
    } finally {
      c.close();
    }
  });

  it('sends requests with CRI field names and wrapped filter states', async () => {
    let seen: Record<string, unknown> = {};
    const { sock } = await fake({
      ListContainers: (req) => {
        seen = req;
        return { containers: [] };
      },
      ExecSync: (req) => ({ stdout: Buffer.from(`ran ${(req['cmd'] as string[]).join(' ')} t=${String(req['timeout'])}`), stderr: Buffer.alloc(0), exitCode: 4 }),
    });
    const c = await CriClient.connect({ endpoint: sock });
    try {
      await c.listContainers({ state: 'CONTAINER_RUNNING', podSandboxId: 'sb1', labelSelector: { a: 'b' } });
      assert.deepEqual(seen['filter'], { id: '', state: { state: 'CONTAINER_RUNNING' }, podSandboxId: 'sb1', labelSelector: { a: 'b' } });
      const r = await c.execSync('c1', ['echo', 'hi'], 7);
      assert.equal(r.stdout.toString(), 'ran echo hi t=7');
      assert.equal(r.exitCode, 4);
    } finally {
      c.close();
    }
  });

  it('gives every call a deadline', async () => {
    const { sock } = await fake({ ListContainers: () => new Promise(() => {}) });
    const c = await CriClient.connect({ endpoint: sock, shortTimeoutMs: 200 });
    try {
      const t0 = Date.now();
      await assert.rejects(c.listContainers(), DeadlineExceededError);
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      c.close();
    }
  });

  it('reconnects when the runtime comes back on the same socket', async () => {
    const first = await fake({ ListPodSandbox: () => ({ items: [] }) });
    const c = await CriClient.connect({ endpoint: first.sock });
    try {
      assert.deepEqual(await c.listPodSandbox(), []);
      await new Promise<void>((r) => first.server.tryShutdown(() => r()));
      await assert.rejects(c.listPodSandbox(), UnavailableError);
      rmSync(first.sock, { force: true });
      const second = await startFakeRuntime(first.sock, {
        Version: version,
        ListPodSandbox: () => ({ items: [{ id: 'p1', metadata: { name: 'n', uid: 'u', namespace: 'ns', attempt: 0 }, state: 'SANDBOX_READY' }] }),
      });
      servers.push(second);
      const items = await eventually(
        async () => {
          try {
            return await c.listPodSandbox();
          } catch (e) {
            assert.ok(e instanceof UnavailableError, String(e));
            return undefined;
          }
        },
        10_000,
        'the client to reconnect',
        50,
      );
      assert.equal(items.length, 1, 'the same client works again');
    } finally {
      c.close();
    }
  });
});
