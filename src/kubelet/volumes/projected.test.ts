// The API-backed volumes: payload builders (configmap/secret MakePayload, downwardapi
// CollectData, FormatMap) table by table, and PodVolumes.setUp/refresh with fake managers on a
// fake clock: the kube-api-access layout, read-only mounts, token rewrites on refresh only when
// the token changed, FailedMount with upstream's wording, standalone refusals.
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AuthenticationV1TokenRequest, V1ConfigMap, V1Pod, V1Secret, V1Volume } from '@kubernetes/client-node';
import { kubeApiAccessVolume } from '../../../test/apiserver/index.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { ObjectNotFoundError } from '../../util/objectcache.js';
import { LocalEventStore } from '../events/index.js';
import { TokenManager } from '../token/index.js';
import { configMapPayload, downwardAPIPayload, PayloadError, secretPayload } from './projected.js';
import { makeMounts, MountError, PodVolumes, VolumeError } from './volumes.js';

const text = (m: Map<string, { data: Buffer; mode: number }>): Record<string, [string, number]> =>
  Object.fromEntries([...m].map(([k, v]) => [k, [v.data.toString('utf8'), v.mode]]));
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('volume payloads', () => {
  const cm: V1ConfigMap = { metadata: { name: 'cfg' }, data: { 'app.conf': 'x=1', other: 'o' }, binaryData: { 'logo.bin': b64('\u0001\u0002') } };
  const sec: V1Secret = { metadata: { name: 's' }, data: { password: b64('pw'), user: b64('me') } };

  it('configMap without items: every data and binaryData key at the default mode', () => {
    assert.deepEqual(text(configMapPayload(undefined, cm, 0o644, false)), { 'app.conf': ['x=1', 0o644], other: ['o', 0o644], 'logo.bin': ['\u0001\u0002', 0o644] });
  });

  it('configMap with items: listed keys at their paths, item modes win', () => {
    assert.deepEqual(text(configMapPayload([{ key: 'app.conf', path: 'conf/app.conf', mode: 0o400 }, { key: 'other', path: 'o.txt' }], cm, 0o644, false)), {
      'conf/app.conf': ['x=1', 0o400],
      'o.txt': ['o', 0o644],
    });
  });

  it('configMap: a missing key fails unless optional', () => {
    assert.throws(() => configMapPayload([{ key: 'nope', path: 'n' }], cm, 0o644, false), (e: unknown) => e instanceof PayloadError && e.message === 'configmap references non-existent config key: nope');
    assert.deepEqual(text(configMapPayload([{ key: 'nope', path: 'n' }], cm, 0o644, true)), {});
  });

  it('secret: values base64-decoded; items; a missing key fails unless optional', () => {
    assert.deepEqual(text(secretPayload(undefined, sec, 0o600, false)), { password: ['pw', 0o600], user: ['me', 0o600] });
    assert.deepEqual(text(secretPayload([{ key: 'user', path: 'u' }], sec, 0o644, false)), { u: ['me', 0o644] });
    assert.throws(() => secretPayload([{ key: 'nope', path: 'n' }], sec, 0o644, false), { message: 'references non-existent secret key: nope' });
  });

  it('downwardAPI: metadata fields, FormatMap for whole maps, cleaned paths; an unsupported path fails', () => {
    const pod: V1Pod = { metadata: { name: 'web', namespace: 'team', uid: 'u1', labels: { b: '2', a: 'x"y' }, annotations: { note: 'hi' } } };
    const got = downwardAPIPayload(
      [
        { path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } },
        { path: './meta/labels', fieldRef: { fieldPath: 'metadata.labels' }, mode: 0o400 },
        { path: 'note', fieldRef: { fieldPath: "metadata.annotations['note']" } },
        { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' } },
      ],
      pod,
      0o644,
    );
    assert.deepEqual(text(got), { namespace: ['team', 0o644], 'meta/labels': ['a="x\\"y"\nb="2"', 0o400], note: ['hi', 0o644], uid: ['u1', 0o644] });
    assert.throws(() => downwardAPIPayload([{ path: 'x', fieldRef: { fieldPath: 'spec.nodeName' } }], pod, 0o644), { message: 'unsupported fieldPath: spec.nodeName' });
  });
});

/** The volume the API server's service-account admission adds. */
const kubeApiAccess: V1Volume = kubeApiAccessVolume('kube-api-access-x7k2p');

describe('PodVolumes', () => {
  let dir: string;
  let clock: FakeClock;
  let events: LocalEventStore;
  let configMaps: Map<string, V1ConfigMap>;
  let secrets: Map<string, V1Secret>;
  let tokenCalls: AuthenticationV1TokenRequest[];
  let tokens: TokenManager;
  let vols: PodVolumes;

  const pod = (volumes: V1Volume[], mounts: { name: string; mountPath: string; readOnly?: boolean }[] = []): V1Pod => ({
    metadata: { name: 'web', namespace: 'team', uid: 'uid-web' },
    spec: { serviceAccountName: 'builder', volumes, containers: [{ name: 'main', image: 'busybox', volumeMounts: mounts }] },
  });
  const volDir = (plugin: string, name: string): string => join(dir, 'pods', 'uid-web', 'volumes', plugin, name);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-projected-'));
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    events = new LocalEventStore(clock, new MemoryLogger());
    configMaps = new Map([['kube-root-ca.crt', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA PEM' } }]]);
    secrets = new Map();
    tokenCalls = [];
    let n = 0;
    tokens = new TokenManager({
      clock,
      rand: () => 0,
      request: async (_ns, _sa, tr) => {
        tokenCalls.push(tr);
        return { spec: tr.spec, status: { token: `jwt-${++n}`, expirationTimestamp: new Date(clock.now() + (tr.spec.expirationSeconds ?? 3600) * 1000) } };
      },
    });
    vols = new PodVolumes({
      rootDir: dir,
      clock,
      recorder: events,
      configMaps: {
        getConfigMap: async (ns, name) => {
          const o = configMaps.get(name);
          if (!o) throw new ObjectNotFoundError('configmap', ns, name);
          return o;
        },
      },
      secrets: {
        getSecret: async (ns, name) => {
          const o = secrets.get(name);
          if (!o) throw new ObjectNotFoundError('secret', ns, name);
          return o;
        },
      },
      tokens,
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('kube-api-access: token, ca.crt and namespace under kubernetes.io~projected, 0644, mounted read-only', async () => {
    const p = pod([kubeApiAccess], [{ name: kubeApiAccess.name, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
    const got = await vols.setUp(p);
    const d = volDir('kubernetes.io~projected', kubeApiAccess.name);
    assert.deepEqual(got.get(kubeApiAccess.name), { hostPath: d, readOnly: true });
    assert.equal(readFileSync(join(d, 'token'), 'utf8'), 'jwt-1');
    assert.equal(readFileSync(join(d, 'ca.crt'), 'utf8'), 'CA PEM');
    assert.equal(readFileSync(join(d, 'namespace'), 'utf8'), 'team');
    assert.equal(readlinkSync(join(d, 'token')), '..data/token');
    for (const f of ['token', 'ca.crt', 'namespace']) assert.equal(statSync(join(d, f)).mode & 0o777, 0o644);
    // the TokenRequest: bound to the pod, the projection's expiration, the pod's service account
    assert.deepEqual(tokenCalls[0]!.spec, { audiences: [], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'uid-web' } });
    const [m] = makeMounts(p.spec!.containers[0]!, got, undefined, undefined);
    assert.deepEqual(m, { containerPath: '/var/run/secrets/kubernetes.io/serviceaccount', hostPath: d, readonly: true, propagation: 'PROPAGATION_PRIVATE' });
  });

  it('refresh rewrites the token when the TokenManager refreshed it (past 80 %), and nothing otherwise', async () => {
    const p = pod([kubeApiAccess]);
    await vols.setUp(p);
    const d = volDir('kubernetes.io~projected', kubeApiAccess.name);
    const first = readlinkSync(join(d, '..data'));
    clock.step(60_000);
    assert.deepEqual(await vols.refresh(p), [{ volume: kubeApiAccess.name, changed: false }]);
    assert.equal(readlinkSync(join(d, '..data')), first, 'same directory: nothing written');
    clock.step(2886_000 - 60_000 + 1000); // past 80 % of 3607 s
    assert.deepEqual(await vols.refresh(p), [{ volume: kubeApiAccess.name, changed: true }]);
    assert.equal(readFileSync(join(d, 'token'), 'utf8'), 'jwt-2');
    assert.notEqual(readlinkSync(join(d, '..data')), first);
    assert.equal(tokenCalls.length, 2);
  });

  it('refresh skips volumes never set up (the container has not started yet)', async () => {
    assert.deepEqual(await vols.refresh(pod([kubeApiAccess])), []);
    assert.equal(tokenCalls.length, 0);
  });

  it('configMap, secret and downwardAPI volumes: their plugin directories, contents and modes', async () => {
    configMaps.set('app', { metadata: { name: 'app' }, data: { 'a.conf': 'A' } });
    secrets.set('creds', { metadata: { name: 'creds' }, data: { password: b64('pw') } });
    const got = await vols.setUp(
      pod([
        { name: 'cfg', configMap: { name: 'app', defaultMode: 0o640 } },
        { name: 'sec', secret: { secretName: 'creds', defaultMode: 0o400 } },
        { name: 'info', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
        { name: 'opt', configMap: { name: 'absent', optional: true } },
      ]),
    );
    assert.equal(readFileSync(join(volDir('kubernetes.io~configmap', 'cfg'), 'a.conf'), 'utf8'), 'A');
    assert.equal(statSync(join(volDir('kubernetes.io~configmap', 'cfg'), 'a.conf')).mode & 0o777, 0o640);
    assert.equal(readFileSync(join(volDir('kubernetes.io~secret', 'sec'), 'password'), 'utf8'), 'pw');
    assert.equal(statSync(join(volDir('kubernetes.io~secret', 'sec'), 'password')).mode & 0o777, 0o400);
    assert.equal(readFileSync(join(volDir('kubernetes.io~downward-api', 'info'), 'name'), 'utf8'), 'web');
    assert.deepEqual(readdirSync(volDir('kubernetes.io~configmap', 'opt')).filter((n) => !n.startsWith('..')), [], 'an optional missing configmap: an empty volume');
    assert.ok([...got.values()].every((v) => v.readOnly));
  });

  it('a missing configmap: FailedMount on the pod with upstream\'s wording, a MountError, no files', async () => {
    configMaps.clear();
    const err = await vols.setUp(pod([kubeApiAccess])).then(
      () => assert.fail('setUp succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MountError);
    assert.equal(err.message, `MountVolume.SetUp failed for volume "${kubeApiAccess.name}" : configmap "kube-root-ca.crt" not found`);
    const ev = events.list({ uid: 'uid-web' }).find((e) => e.reason === 'FailedMount');
    assert.equal(ev?.type, 'Warning');
    assert.equal(ev?.message, err.message);
    assert.equal(ev?.involvedObject.fieldPath, undefined);
    assert.throws(() => lstatSync(join(volDir('kubernetes.io~projected', kubeApiAccess.name), '..data')));
  });

  it('several failing sources of one projected volume are aggregated as [a, b]', async () => {
    configMaps.clear();
    const v: V1Volume = { name: 'p', projected: { defaultMode: 420, sources: [{ configMap: { name: 'kube-root-ca.crt' } }, { secret: { name: 'nope' } }] } };
    await assert.rejects(vols.setUp(pod([v])), { message: 'MountVolume.SetUp failed for volume "p" : [configmap "kube-root-ca.crt" not found, secret "nope" not found]' });
  });

  it('a refresh that fails keeps the old files and records FailedMount', async () => {
    const p = pod([kubeApiAccess]);
    await vols.setUp(p);
    configMaps.clear();
    const [r] = await vols.refresh(p);
    assert.equal(r?.changed, false);
    assert.equal(r?.error, 'configmap "kube-root-ca.crt" not found');
    assert.equal(readFileSync(join(volDir('kubernetes.io~projected', kubeApiAccess.name), 'ca.crt'), 'utf8'), 'CA PEM');
    assert.ok(events.list({ uid: 'uid-web' }).some((e) => e.reason === 'FailedMount'));
  });

  it('standalone (no managers): configMap, secret and token sources are refused naming the volume; downwardAPI works', async () => {
    const standalone = new PodVolumes({ rootDir: dir, clock });
    await assert.rejects(standalone.setUp(pod([kubeApiAccess])), (e: unknown) => e instanceof VolumeError && !(e instanceof MountError) && e.message.startsWith(`volume "${kubeApiAccess.name}": serviceAccountToken, configMap sources need an API server`));
    await assert.rejects(standalone.setUp(pod([{ name: 'pvc', persistentVolumeClaim: { claimName: 'c' } }])), { message: 'volume "pvc": persistentVolumeClaim volumes are not supported by nodelet (emptyDir, hostPath, configMap, secret, downwardAPI and projected are)' });
    const got = await standalone.setUp(pod([{ name: 'info', downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } }]));
    assert.equal(readFileSync(join(got.get('info')!.hostPath, 'ns'), 'utf8'), 'team');
  });
});
