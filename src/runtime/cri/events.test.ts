// Container events over gRPC: decoding containerd's envelopes and CRI's event responses (tables),
// and CriClient.watchContainerEvents against an in-process server: CRI GetContainerEvents when
// served, containerd's Events/Subscribe (with the k8s.io filters) when CRI says UNIMPLEMENTED,
// Unimplemented when neither is there, and the stream's end reported once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { RealClock } from '../../util/clock.js';
import { UnavailableError, UnimplementedError } from '../errors.js';
import type { ContainerEvent } from '../types.js';
import { eventually } from '../../../test/e2e/helpers.js';
import { CriClient, protoPath } from './client.js';
import { containerdEnvelopeToEvent, containerdEventFilters, containerdEventsService, criEventToContainerEvent, protoStringFields, type ContainerdEnvelope } from './events.js';

// ---------------------------------------------------------------- a tiny protobuf writer for payloads

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

type Field = [field: number, value: string | number | Buffer];
function encode(fields: Field[]): Buffer {
  const out: number[] = [];
  for (const [f, v] of fields) {
    if (typeof v === 'number') out.push(...varint(f * 8), ...varint(v));
    else {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      out.push(...varint(f * 8 + 2), ...varint(b.length), ...b);
    }
  }
  return Buffer.from(out);
}

const ts = (ms: number): Buffer => encode([[1, Math.floor(ms / 1000)], [2, (ms % 1000) * 1e6]]);

describe('protoStringFields', () => {
  it('reads the length-delimited fields of a message and skips the rest', () => {
    // TaskExit{container_id=1, id=2, pid=3, exit_status=4, exited_at=5}
    const msg = encode([[1, 'abc'], [2, 'exec1'], [3, 4242], [4, 137], [5, ts(1_700_000_000_123)]]);
    const f = protoStringFields(msg)!;
    assert.equal(f.get(1), 'abc');
    assert.equal(f.get(2), 'exec1');
    assert.equal(f.has(3), false);
    // fixed64 and fixed32 fields are skipped too
    const fixed = Buffer.concat([Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4]), encode([[1, 'x']])]);
    assert.equal(protoStringFields(fixed)!.get(1), 'x');
    assert.deepEqual([...protoStringFields(Buffer.alloc(0))!], []);
  });

  it('refuses what is not a message', () => {
    for (const bad of [
      Buffer.from([0x0a, 0x05, 0x61]), // length past the end
      Buffer.from([0x0b]), // wire type 3 (groups)
      Buffer.from([0x00, 0x01]), // field 0
      Buffer.from([0x08, 0xff]), // truncated varint
    ]) {
      assert.equal(protoStringFields(bad), null, bad.toString('hex'));
    }
  });
});

describe('containerdEnvelopeToEvent', () => {
  const env = (topic: string, payload: Field[], atMs = 1_700_000_000_250): ContainerdEnvelope => ({
    timestamp: { seconds: Math.floor(atMs / 1000), nanos: (atMs % 1000) * 1e6 },
    namespace: 'k8s.io',
    topic,
    event: { typeUrl: `containerd.events.${topic}`, value: encode(payload) },
  });
  const at = 1_700_000_000_250 * 1e6;
  it('maps the topics nodelet relists on, and drops the rest', () => {
    const cases: [string, ContainerdEnvelope, ContainerEvent | null][] = [
      ['container create', env('/containers/create', [[1, 'c1'], [2, 'busybox']]), { containerId: 'c1', type: 'created', createdAt: at }],
      ['task start', env('/tasks/start', [[1, 'c1'], [2, 77]]), { containerId: 'c1', type: 'started', createdAt: at }],
      ['task exit of the container', env('/tasks/exit', [[1, 'c1'], [2, 'c1'], [3, 77], [4, 3]]), { containerId: 'c1', type: 'stopped', createdAt: at }],
      ['task exit without exec id', env('/tasks/exit', [[1, 'c1'], [3, 77]]), { containerId: 'c1', type: 'stopped', createdAt: at }],
      ['exec process exit', env('/tasks/exit', [[1, 'c1'], [2, 'probe-1'], [3, 78]]), null],
      ['container delete', env('/containers/delete', [[1, 'c1']]), { containerId: 'c1', type: 'deleted', createdAt: at }],
      ['oom (the exit follows)', env('/tasks/oom', [[1, 'c1']]), null],
      ['task delete (follows the exit)', env('/tasks/delete', [[1, 'c1']]), null],
      ['snapshot', env('/snapshot/prepare', [[1, 'k']]), null],
      ['no id', env('/tasks/start', [[2, 77]]), null],
      ['garbage payload', { ...env('/tasks/start', []), event: { typeUrl: 'x', value: Buffer.from([0x0a, 0x09]) } }, null],
      ['no payload, no time', { topic: '/tasks/start' }, null],
    ];
    for (const [name, e, want] of cases) assert.deepEqual(containerdEnvelopeToEvent(e), want, name);
    assert.equal(containerdEnvelopeToEvent({ topic: '/tasks/start', event: { value: encode([[1, 'c']]) } })?.createdAt, 0, 'no timestamp: 0');
  });

  it('filters on the namespace and the topics', () => {
    assert.deepEqual(containerdEventFilters(), ['namespace=="k8s.io",topic~="^/tasks/(start|exit)$"', 'namespace=="k8s.io",topic~="^/containers/(create|delete)$"']);
    assert.match(containerdEventFilters('other')[0]!, /^namespace=="other",/);
  });
});

describe('criEventToContainerEvent', () => {
  it('maps CRI event types and the sandbox', () => {
    assert.deepEqual(criEventToContainerEvent({ containerId: 'c', containerEventType: 'CONTAINER_STOPPED_EVENT', createdAt: 5, podSandboxStatus: { id: 's' } }), { containerId: 'c', type: 'stopped', createdAt: 5, podSandboxId: 's' });
    assert.deepEqual(criEventToContainerEvent({ containerId: 'c', containerEventType: 'CONTAINER_CREATED_EVENT' }), { containerId: 'c', type: 'created', createdAt: 0 });
    assert.equal(criEventToContainerEvent({ containerId: 'c', containerEventType: 'CONTAINER_STARTED_EVENT', podSandboxStatus: null })?.type, 'started');
    assert.equal(criEventToContainerEvent({ containerId: 'c', containerEventType: 'CONTAINER_DELETED_EVENT' })?.type, 'deleted');
    assert.equal(criEventToContainerEvent({ containerId: '', containerEventType: 'CONTAINER_STOPPED_EVENT' }), null);
    assert.equal(criEventToContainerEvent({ containerId: 'c', containerEventType: 'SOMETHING_NEW' }), null);
  });
});

// ---------------------------------------------------------------- against an in-process server

const criPkg = grpc.loadPackageDefinition(
  protoLoader.loadSync(protoPath, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true }),
) as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } };

const realClock = new RealClock();

type StreamHandler = (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => void;

async function startServer(sock: string, h: { cri?: StreamHandler; containerd?: StreamHandler }): Promise<grpc.Server> {
  const server = new grpc.Server();
  // every method without a handler answers UNIMPLEMENTED
  server.addService(criPkg.runtime.v1.RuntimeService!.service, h.cri ? { GetContainerEvents: h.cri } : {});
  if (h.containerd) server.addService(containerdEventsService().service, { Subscribe: h.containerd });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return server;
}

interface Seen {
  events: ContainerEvent[];
  ready: string[];
  errors: Error[];
}

function watch(client: CriClient): Seen & { stop: () => void } {
  const s: Seen = { events: [], ready: [], errors: [] };
  const w = client.watchContainerEvents({ onEvent: (e) => s.events.push(e), onReady: (r) => s.ready.push(r), onError: (e) => s.errors.push(e) });
  return { ...s, stop: () => w.stop() };
}

describe('CriClient.watchContainerEvents (in-process server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-cri-events-'));
  let n = 0;
  const servers: grpc.Server[] = [];
  const clients: CriClient[] = [];
  after(() => {
    for (const c of clients) c.close();
    for (const s of servers) s.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  async function setup(h: { cri?: StreamHandler; containerd?: StreamHandler }): Promise<{ client: CriClient; server: grpc.Server; sock: string }> {
    const sock = join(dir, `events-${++n}.sock`);
    const server = await startServer(sock, h);
    servers.push(server);
    const client = new CriClient({ endpoint: `unix://${sock}` });
    clients.push(client);
    return { client, server, sock };
  }

  it('uses CRI GetContainerEvents when the runtime serves it', async () => {
    const { client } = await setup({
      cri: (call) => {
        call.write({ containerId: 'c1', containerEventType: 'CONTAINER_STARTED_EVENT', createdAt: 10, podSandboxStatus: { id: 's1' } });
        call.write({ containerId: 'c1', containerEventType: 'CONTAINER_STOPPED_EVENT', createdAt: 20 });
      },
      containerd: () => assert.fail('containerd events are not asked for'),
    });
    const s = watch(client);
    await eventually(async () => s.events.length === 2, 5000, 'two CRI events');
    assert.deepEqual(s.ready, ['cri']);
    assert.deepEqual(s.events, [
      { containerId: 'c1', type: 'started', createdAt: 10, podSandboxId: 's1' },
      { containerId: 'c1', type: 'stopped', createdAt: 20 },
    ]);
    s.stop();
    assert.deepEqual(s.errors, [], 'stop() is silent');
  });

  it('falls back to containerd events (k8s.io filters) when GetContainerEvents is UNIMPLEMENTED, and reports their end once', async () => {
    let filters: unknown;
    let sub: grpc.ServerWritableStream<Record<string, unknown>, unknown> | undefined;
    const { client } = await setup({
      containerd: (call) => {
        filters = call.request['filters'];
        sub = call;
        call.sendMetadata(new grpc.Metadata()); // as containerd does: headers at once, events later
      },
    });
    const s = watch(client);
    await eventually(async () => s.ready.length === 1, 5000, 'the containerd stream to be up');
    assert.deepEqual(s.ready, ['containerd']);
    assert.deepEqual(filters, containerdEventFilters());
    const env = (topic: string, payload: Field[]) => ({ timestamp: { seconds: 1_700_000_000, nanos: 5 }, namespace: 'k8s.io', topic, event: { typeUrl: 'containerd.events.X', value: encode(payload) } });
    sub!.write(env('/tasks/exit', [[1, 'c1'], [2, 'exec-9']])); // an exec's exit: dropped
    sub!.write(env('/tasks/exit', [[1, 'c1'], [2, 'c1'], [4, 3]]));
    sub!.write(env('/containers/delete', [[1, 'c1']]));
    await eventually(async () => s.events.length === 2, 5000, 'two events');
    assert.deepEqual(s.events, [
      { containerId: 'c1', type: 'stopped', createdAt: 1_700_000_000 * 1e9 + 5 },
      { containerId: 'c1', type: 'deleted', createdAt: 1_700_000_000 * 1e9 + 5 },
    ]);
    sub!.end(); // containerd closed the stream
    await eventually(async () => s.errors.length === 1, 5000, 'the end to be reported');
    assert.ok(s.errors[0] instanceof UnavailableError, String(s.errors[0]));
    assert.match(s.errors[0]!.message, /event stream from unix:\/\/.* ended/);
    await realClock.sleep(50);
    assert.equal(s.errors.length, 1, 'once');
  });

  it('answers Unimplemented when the runtime streams neither', async () => {
    const { client } = await setup({});
    const s = watch(client);
    await eventually(async () => s.errors.length === 1, 5000, 'an error');
    assert.ok(s.errors[0] instanceof UnimplementedError, String(s.errors[0]));
    assert.match(s.errors[0]!.message, /streams no container events: GetContainerEvents: .*; containerd events: /);
    assert.deepEqual(s.ready, []);
  });

  it('a runtime going away mid-stream ends the watch with Unavailable; stop() ends one silently', async () => {
    // no headers until the first event (containerd's way): up once the call stayed open 250 ms
    const { client, server } = await setup({ containerd: () => undefined });
    const t0 = Date.now();
    const s = watch(client);
    await eventually(async () => s.ready.length === 1, 5000, 'the stream to be up', 10);
    assert.ok(Date.now() - t0 >= 240, 'after the quiet period');
    assert.deepEqual(s.ready, ['containerd']);
    server.forceShutdown();
    await eventually(async () => s.errors.length === 1, 5000, 'the loss to be reported');
    assert.ok(s.errors[0] instanceof UnavailableError, String(s.errors[0]));

    const b = await setup({ containerd: (call) => call.sendMetadata(new grpc.Metadata()) });
    const s2 = watch(b.client);
    await eventually(async () => s2.ready.length === 1, 5000, 'the stream to be up');
    s2.stop();
    b.server.forceShutdown();
    await realClock.sleep(100);
    assert.deepEqual(s2.errors, []);
  });
});
