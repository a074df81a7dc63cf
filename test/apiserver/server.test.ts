// The test API server driven by @kubernetes/client-node itself (real HTTPS, real sockets).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiException, AppsV1Api, CertificatesV1Api, CoordinationV1Api, CoreV1Api, AuthenticationV1Api, AuthorizationV1Api, makeInformer, PatchStrategy,
  setHeaderOptions, Watch, type KubeConfig, type V1DaemonSet, type V1Pod,
} from '@kubernetes/client-node';
import { createKeyAndCSR } from './pki.js';
import { startTestApiServer, type TestApiServer, type TestApiServerOptions } from './server.js';

async function withServer(opts: TestApiServerOptions, fn: (s: TestApiServer) => Promise<void>): Promise<void> {
  const s = await startTestApiServer(opts);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
    throw e;
  }
  throw new Error('expected an API error');
}

const pod = (name: string, nodeName?: string, labels?: Record<string, string>): V1Pod => ({
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox:1.36' }] },
});

interface Ev { type: string; object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string } }

async function startWatch(kc: KubeConfig, path: string, params: Record<string, string | number | boolean | undefined>): Promise<{ events: Ev[]; done: () => boolean; err: () => unknown; stop: () => void }> {
  const events: Ev[] = [];
  let finished = false;
  let error: unknown;
  const ctl = await new Watch(kc).watch(path, params, (type, object) => events.push({ type, object }), (e) => {
    finished = true;
    error = e;
  });
  return { events, done: () => finished, err: () => error, stop: () => ctl.abort() };
}

describe('test apiserver: storage semantics', () => {
  it('creates, gets, lists, updates with the real conflict and not-found Status bodies', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      const created = await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' }, data: { a: '1' } } });
      assert.ok(created.metadata?.uid);
      assert.ok(created.metadata?.creationTimestamp);
      assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
      const dup = await apiError(api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } }));
      assert.equal(dup.code, 409);
      assert.equal(dup.body.reason, 'AlreadyExists');
      const list = await api.listNamespacedConfigMap({ namespace: 'default' });
      assert.equal(list.metadata?.resourceVersion, s.store.resourceVersion);
      assert.ok(list.items.some((c) => c.metadata?.name === 'x'));
      const upd = await api.replaceNamespacedConfigMap({ name: 'x', namespace: 'default', body: { ...created, data: { a: '2' } } });
      assert.ok(Number(upd.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion));
      assert.equal(upd.metadata?.uid, created.metadata?.uid);
      const stale = await apiError(api.replaceNamespacedConfigMap({ name: 'x', namespace: 'default', body: { ...created, data: { a: '3' } } }));
      assert.equal(stale.code, 409);
      assert.deepEqual(stale.body, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: 'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
        reason: 'Conflict', details: { name: 'x', kind: 'configmaps' }, code: 409,
      });
      const nf = await apiError(api.readNamespacedConfigMap({ name: 'nope', namespace: 'default' }));
      assert.equal(nf.code, 404);
      assert.equal(nf.body.message, 'configmaps "nope" not found');
      const noNs = await apiError(api.createNamespacedConfigMap({ namespace: 'missing', body: { metadata: { name: 'y' } } }));
      assert.equal(noNs.body.message, 'namespaces "missing" not found');
      const leases = s.kubeconfig().makeApiClient(CoordinationV1Api);
      const l = await leases.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } } });
      assert.equal(l.spec?.holderIdentity, 'n1');
      const notFoundLease = await apiError(leases.readNamespacedLease({ name: 'n2', namespace: 'kube-node-lease' }));
      assert.equal(notFoundLease.body.message, 'leases.coordination.k8s.io "n2" not found');
    });
  });

  it('defaults and admits pods as the real server does', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      const p = await api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } } });
      assert.equal(p.spec?.restartPolicy, 'Always');
      assert.equal(p.spec?.dnsPolicy, 'ClusterFirst');
      assert.equal(p.spec?.terminationGracePeriodSeconds, 30);
      assert.equal(p.spec?.schedulerName, 'default-scheduler');
      assert.equal(p.spec?.serviceAccountName, 'default');
      assert.equal(p.spec?.containers[0]?.imagePullPolicy, 'Always');
      assert.equal(p.spec?.containers[0]?.terminationMessagePath, '/dev/termination-log');
      assert.deepEqual(p.spec?.tolerations?.map((t) => [t.key, t.effect, t.tolerationSeconds]), [
        ['node.kubernetes.io/not-ready', 'NoExecute', 300], ['node.kubernetes.io/unreachable', 'NoExecute', 300]]);
      const vol = p.spec?.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
      assert.ok(vol?.projected, 'service account token volume');
      assert.ok(p.spec?.containers[0]?.volumeMounts?.some((m) => m.name === vol.name && m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'));
      assert.deepEqual({ phase: p.status?.phase, qos: p.status?.qosClass }, { phase: 'Pending', qos: 'BestEffort' });
      const bad = await apiError(api.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'bad' }, spec: { containers: [{ name: 'c', image: '' }] } } }));
      assert.equal(bad.code, 422);
      assert.match(String(bad.body.message), /^Pod "bad" is invalid: /);
      const imm = await apiError(api.replaceNamespacedPod({ name: 'p', namespace: 'default', body: { ...p, spec: { ...p.spec!, restartPolicy: 'Never' } } }));
      assert.equal(imm.code, 422);
      assert.match(String(imm.body.message), /pod updates may not change fields other than/);
    });
  });

  it('patches: merge, strategic (conditions by type, addresses by type, taints replaced) and JSON patch', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      await api.createNamespacedPod({ namespace: 'default', body: pod('p', 'n1') });
      const merged = await api.patchNamespacedPod({ name: 'p', namespace: 'default', body: { metadata: { labels: { a: 'b' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      assert.equal(merged.metadata?.labels?.a, 'b');
      const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
      await api.patchNamespacedPodStatus({ name: 'p', namespace: 'default', body: { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] } } }, smp);
      const st = await api.patchNamespacedPodStatus({ name: 'p', namespace: 'default', body: {
        status: { $setElementOrder: undefined, '$setElementOrder/conditions': [{ type: 'PodScheduled' }, { type: 'Ready' }], conditions: [{ type: 'Ready', status: 'True' }] },
      } }, smp);
      assert.deepEqual(st.status?.conditions?.map((c) => [c.type, c.status]), [['PodScheduled', 'True'], ['Ready', 'True']]);
      const jp = await api.patchNamespacedPod({ name: 'p', namespace: 'default', body: [
        { op: 'test', path: '/metadata/labels/a', value: 'b' }, { op: 'replace', path: '/metadata/labels/a', value: 'c' }, { op: 'add', path: '/metadata/annotations', value: { x: 'y' } }] });
      assert.equal(jp.metadata?.labels?.a, 'c');
      assert.equal(jp.metadata?.annotations?.x, 'y');
      const failedTest = await apiError(api.patchNamespacedPod({ name: 'p', namespace: 'default', body: [{ op: 'test', path: '/metadata/labels/a', value: 'zzz' }] }));
      assert.equal(failedTest.code, 422);
      const stalePatch = await apiError(api.patchNamespacedPod({ name: 'p', namespace: 'default', body: { metadata: { resourceVersion: '1', labels: { q: 'r' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
      assert.equal(stalePatch.code, 409);

      await api.createNode({ body: { metadata: { name: 'n1' }, spec: { taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoSchedule' }] },
        status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n1' }] } } });
      const n = await api.patchNodeStatus({ name: 'n1', body: { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] } } }, smp);
      assert.deepEqual(JSON.parse(JSON.stringify(n.status?.addresses)), [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n1' }]);
      const t = await api.patchNode({ name: 'n1', body: { spec: { taints: [{ key: 'c', effect: 'NoExecute' }] } } }, smp);
      assert.deepEqual(t.spec?.taints?.map((x) => x.key), ['c']);
    });
  });

  it('keeps .status and the rest apart: main resource ignores status, /status ignores spec', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      const p = await api.createNamespacedPod({ namespace: 'default', body: pod('p', 'n1') });
      const upd = await api.replaceNamespacedPod({ name: 'p', namespace: 'default', body: { ...p, metadata: { ...p.metadata, labels: { x: '1' } }, status: { phase: 'Running' } } });
      assert.equal(upd.status?.phase, 'Pending');
      assert.equal(upd.metadata?.labels?.x, '1');
      const st = await api.replaceNamespacedPodStatus({ name: 'p', namespace: 'default', body: { ...upd, metadata: { ...upd.metadata, labels: { x: '2' } }, spec: { ...upd.spec!, activeDeadlineSeconds: 5 }, status: { phase: 'Running' } } });
      assert.equal(st.status?.phase, 'Running');
      assert.equal(st.metadata?.labels?.x, '1');
      assert.equal(st.spec?.activeDeadlineSeconds, undefined);
    });
  });

  it('serves apps/v1 DaemonSets through AppsV1Api: generation, status subresource, strategic patch, list, watch, delete', async () => {
    await withServer({}, async (s) => {
      const apps = s.kubeconfig().makeApiClient(AppsV1Api);
      const labels = { app: 'agent' };
      const ds: V1DaemonSet = {
        metadata: { name: 'agent', labels },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'a', image: 'busybox:1.36' }, { name: 'b', image: 'busybox:1.36' }] } } },
        status: { currentNumberScheduled: 7, numberMisscheduled: 0, desiredNumberScheduled: 7, numberReady: 7 },
      };
      const w = await startWatch(s.kubeconfig(), '/apis/apps/v1/namespaces/kube-system/daemonsets', { resourceVersion: s.store.resourceVersion });
      const created = await apps.createNamespacedDaemonSet({ namespace: 'kube-system', body: ds });
      assert.equal(created.apiVersion, 'apps/v1');
      assert.equal(created.kind, 'DaemonSet');
      assert.equal(created.metadata?.generation, 1);
      assert.equal(created.status?.desiredNumberScheduled, 0, 'create resets .status');
      assert.equal((await apps.readNamespacedDaemonSet({ name: 'agent', namespace: 'kube-system' })).metadata?.uid, created.metadata?.uid);
      assert.deepEqual((await apps.listNamespacedDaemonSet({ namespace: 'kube-system' })).items.map((x) => x.metadata?.name), ['agent']);
      assert.deepEqual((await apps.listDaemonSetForAllNamespaces({ labelSelector: 'app=agent' })).items.map((x) => x.metadata?.namespace), ['kube-system']);

      const st = await apps.replaceNamespacedDaemonSetStatus({ name: 'agent', namespace: 'kube-system', body: { ...created, status: { ...created.status!, desiredNumberScheduled: 3, numberReady: 2, observedGeneration: 1 } } });
      assert.equal(st.status?.numberReady, 2);
      assert.equal(st.metadata?.generation, 1, 'a status update keeps the generation');
      const relabeled = await apps.replaceNamespacedDaemonSet({ name: 'agent', namespace: 'kube-system', body: { ...st, metadata: { ...st.metadata, annotations: { a: 'b' }, generation: 99 }, status: { ...st.status!, numberReady: 0 } } });
      assert.equal(relabeled.metadata?.generation, 1, 'metadata-only change: same generation, and a request cannot set it');
      assert.equal(relabeled.status?.numberReady, 2, 'the main resource ignores .status');
      const stale = await apiError(apps.replaceNamespacedDaemonSet({ name: 'agent', namespace: 'kube-system', body: st }));
      assert.equal(stale.code, 409);
      const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
      const patched = await apps.patchNamespacedDaemonSet({ name: 'agent', namespace: 'kube-system', body: { spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:1.37' }] } } } } }, smp);
      assert.deepEqual(patched.spec?.template.spec?.containers.map((c) => `${c.name}=${c.image}`), ['a=busybox:1.36', 'b=busybox:1.37'], 'containers merged by name');
      assert.equal(patched.metadata?.generation, 2, 'a spec change bumps the generation');

      await apps.deleteNamespacedDaemonSet({ name: 'agent', namespace: 'kube-system' });
      assert.equal(s.get('daemonsets', 'kube-system', 'agent'), undefined);
      await waitFor(() => w.events.length >= 5, 'the watch events');
      w.stop();
      assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);

      const forbidden = await apiError(s.kubeconfig({ node: 'n1' }).makeApiClient(AppsV1Api).listDaemonSetForAllNamespaces());
      assert.equal(forbidden.code, 403);
      const discovery = await apps.getAPIResources();
      assert.deepEqual(discovery.resources.map((r) => r.name), ['daemonsets', 'daemonsets/status']);
      assert.deepEqual(discovery.resources[0]?.shortNames, ['ds']);
    });
  });

  it('deletes pods gracefully, then finally with a uid precondition; unbound pods at once', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      const p = await api.createNamespacedPod({ namespace: 'default', body: { ...pod('p', 'n1'), spec: { ...pod('p', 'n1').spec!, terminationGracePeriodSeconds: 7 } } });
      const d = await api.deleteNamespacedPod({ name: 'p', namespace: 'default' });
      assert.ok(d.metadata?.deletionTimestamp);
      assert.equal(d.metadata?.deletionGracePeriodSeconds, 7);
      assert.ok(await api.readNamespacedPod({ name: 'p', namespace: 'default' }), 'still there');
      const shorter = await api.deleteNamespacedPod({ name: 'p', namespace: 'default', body: { gracePeriodSeconds: 2 } });
      assert.equal(shorter.metadata?.deletionGracePeriodSeconds, 2);
      const wrong = await apiError(api.deleteNamespacedPod({ name: 'p', namespace: 'default', body: { gracePeriodSeconds: 0, preconditions: { uid: 'other' } } }));
      assert.equal(wrong.code, 409);
      assert.equal(wrong.body.message, `Operation cannot be fulfilled on pods "p": Precondition failed: UID in precondition: other, UID in object meta: ${p.metadata!.uid}`);
      await api.deleteNamespacedPod({ name: 'p', namespace: 'default', body: { gracePeriodSeconds: 0, preconditions: { uid: p.metadata!.uid! } } });
      assert.equal((await apiError(api.readNamespacedPod({ name: 'p', namespace: 'default' }))).code, 404);
      await api.createNamespacedPod({ namespace: 'default', body: pod('u') });
      const gone = await api.deleteNamespacedPod({ name: 'u', namespace: 'default' });
      assert.equal(gone.metadata?.deletionTimestamp, undefined);
      assert.equal((await apiError(api.readNamespacedPod({ name: 'u', namespace: 'default' }))).code, 404);
    });
  });
});

describe('test apiserver: list and watch', () => {
  it('watches from a resourceVersion, from "0" (initial ADDED), and sends bookmarks', async () => {
    await withServer({ bookmarkIntervalMs: 30 }, async (s) => {
      const kc = s.kubeconfig();
      const api = kc.makeApiClient(CoreV1Api);
      const a = await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
      await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } });
      const fromRv = await startWatch(kc, '/api/v1/namespaces/default/configmaps', { resourceVersion: a.metadata!.resourceVersion });
      const fromZero = await startWatch(kc, '/api/v1/namespaces/default/configmaps', { resourceVersion: '0', allowWatchBookmarks: true });
      await api.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
      await waitFor(() => fromRv.events.length >= 2, 'events from rv');
      assert.deepEqual(fromRv.events.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'b'], ['DELETED', 'a']]);
      // a bookmark after the delete (an earlier one may carry an older resourceVersion)
      await waitFor(() => {
        const i = fromZero.events.findIndex((e) => e.type === 'DELETED');
        return i >= 0 && fromZero.events.slice(i).some((e) => e.type === 'BOOKMARK');
      }, 'bookmark');
      const names = fromZero.events.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object.metadata?.name]);
      assert.deepEqual(names, [['ADDED', 'a'], ['ADDED', 'b'], ['ADDED', 'kube-root-ca.crt'], ['DELETED', 'a']]);
      const bm = fromZero.events.filter((e) => e.type === 'BOOKMARK').at(-1)!;
      assert.equal(bm.object.metadata?.resourceVersion, s.store.resourceVersion);
      fromRv.stop();
      fromZero.stop();
      await waitFor(() => s.openWatches === 0, 'watches closed');
    });
  });

  it('ends a watch after timeoutSeconds', async () => {
    await withServer({}, async (s) => {
      const w = await startWatch(s.kubeconfig(), '/api/v1/pods', { timeoutSeconds: 1 });
      const t0 = Date.now();
      await waitFor(w.done, 'watch end', 3000);
      assert.ok(Date.now() - t0 >= 900);
    });
  });

  it('answers a too-old resourceVersion with 410 Expired, and the informer relists', async () => {
    await withServer({ historySize: 5 }, async (s) => {
      const kc = s.kubeconfig();
      const api = kc.makeApiClient(CoreV1Api);
      const first = await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'old' } } });
      for (let i = 0; i < 6; i++) await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `c${i}` } } });
      const w = await startWatch(kc, '/api/v1/namespaces/default/configmaps', { resourceVersion: first.metadata!.resourceVersion });
      await waitFor(w.done, 'watch end');
      assert.equal(w.events[0]?.type, 'ERROR');
      assert.equal(w.events[0]?.object.code, 410);
      assert.equal(w.events[0]?.object.reason, 'Expired');
      assert.match(String((w.events[0]?.object as { message?: string }).message), /^too old resource version: \d+ \(\d+\)$/);
      const exact = await apiError(api.listNamespacedConfigMap({ namespace: 'default', resourceVersion: first.metadata!.resourceVersion, resourceVersionMatch: 'Exact' }));
      assert.equal(exact.code, 410);

      const inf = makeInformer(kc, '/api/v1/namespaces/default/pods', () => api.listNamespacedPod({ namespace: 'default' }));
      const added: string[] = [];
      inf.on('add', (p) => added.push(p.metadata!.name!));
      await inf.start();
      await api.createNamespacedPod({ namespace: 'default', body: pod('p1') });
      await waitFor(() => added.includes('p1'), 'informer add');
      // The informer's resourceVersion is p1's; other writes push it out of the history.
      for (let i = 0; i < 6; i++) await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `d${i}` } } });
      const listsBefore = s.requests.filter((r) => r.verb === 'list' && r.path.includes('/pods')).length;
      s.faults.closeWatches();
      await waitFor(() => s.requests.filter((r) => r.verb === 'list' && r.path.includes('/pods')).length > listsBefore, 'relist');
      await api.createNamespacedPod({ namespace: 'default', body: pod('p2') });
      await waitFor(() => added.includes('p2'), 'informer add after relist');
      await inf.stop();
    });
  });

  it('applies label and field selectors to list and watch; leaving the selector is DELETED', async () => {
    await withServer({}, async (s) => {
      const kc = s.kubeconfig();
      const api = kc.makeApiClient(CoreV1Api);
      await api.createNamespacedPod({ namespace: 'default', body: pod('a', 'n1', { app: 'web', tier: 'fe' }) });
      await api.createNamespacedPod({ namespace: 'default', body: pod('b', 'n2', { app: 'db' }) });
      await api.createNamespacedPod({ namespace: 'default', body: pod('c', undefined, { app: 'web' }) });
      const names = async (q: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
        (await api.listNamespacedPod({ namespace: 'default', ...q })).items.map((p) => p.metadata!.name!);
      assert.deepEqual(await names({ labelSelector: 'app=web' }), ['a', 'c']);
      assert.deepEqual(await names({ labelSelector: 'app==web,tier' }), ['a']);
      assert.deepEqual(await names({ labelSelector: 'app!=web' }), ['b']);
      assert.deepEqual(await names({ labelSelector: 'app in (db, web),!tier' }), ['b', 'c']);
      assert.deepEqual(await names({ labelSelector: 'app notin (web)' }), ['b']);
      assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=n1' }), ['a']);
      assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=' }), ['c']);
      assert.deepEqual(await names({ fieldSelector: 'metadata.name!=a,spec.nodeName!=n2' }), ['c']);
      const badField = await apiError(api.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.bogus=1' }));
      assert.equal(badField.code, 400);

      const byNode = await startWatch(kc, '/api/v1/pods', { fieldSelector: 'spec.nodeName=n3' });
      const byLabel = await startWatch(kc, '/api/v1/namespaces/default/pods', { labelSelector: 'app=web', resourceVersion: s.store.resourceVersion });
      await api.createNamespacedPodBinding({ name: 'c', namespace: 'default', body: { metadata: { name: 'c' }, target: { name: 'n3' } } });
      await api.patchNamespacedPod({ name: 'a', namespace: 'default', body: { metadata: { labels: { app: 'other' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await waitFor(() => byNode.events.length >= 1 && byLabel.events.length >= 2, 'selector events');
      assert.deepEqual(byNode.events.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'c']]);
      assert.deepEqual(byLabel.events.map((e) => [e.type, e.object.metadata?.name]), [['MODIFIED', 'c'], ['DELETED', 'a']]);
      byNode.stop();
      byLabel.stop();
    });
  });
});

describe('test apiserver: paged lists', () => {
  it('limit + continue: key order, every item once, the first page\'s resourceVersion, remainingItemCount; a bad token is 400', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      await api.createNamespace({ body: { metadata: { name: 'other' } } });
      for (const name of ['e', 'a', 'd']) await api.createNamespacedPod({ namespace: 'default', body: pod(name) });
      for (const name of ['b', 'c']) await api.createNamespacedPod({ namespace: 'other', body: pod(name) });
      const first = await api.listPodForAllNamespaces({ limit: 2 });
      assert.deepEqual(first.items.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`), ['default/a', 'default/d']);
      assert.equal(first.metadata?.remainingItemCount, 3);
      const rv = first.metadata!.resourceVersion;
      await api.createNamespacedPod({ namespace: 'default', body: pod('f') }); // after the first page: later pages keep its resourceVersion
      const second = await api.listPodForAllNamespaces({ limit: 2, _continue: first.metadata!._continue! });
      const third = await api.listPodForAllNamespaces({ limit: 2, _continue: second.metadata!._continue! });
      assert.deepEqual([...second.items, ...third.items].map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`), ['default/e', 'default/f', 'other/b', 'other/c']);
      assert.equal(second.metadata?.resourceVersion, rv);
      assert.equal(third.metadata?._continue, undefined, 'the last page has no continue token');
      assert.equal((await api.listPodForAllNamespaces()).items.length, 6, 'no limit: the whole list');
      const bad = await apiError(api.listPodForAllNamespaces({ limit: 2, _continue: 'garbage' }));
      assert.equal(bad.code, 400);
    });
  });
});

describe('test apiserver: faults', () => {
  it('fails calls while down and serves again after; failNext, conflictStorm, slow, closeWatches', async () => {
    await withServer({}, async (s) => {
      const kc = s.kubeconfig();
      const api = kc.makeApiClient(CoreV1Api);
      const w = await startWatch(kc, '/api/v1/pods', {});
      await s.faults.down(300);
      await waitFor(w.done, 'watch ended by down()');
      await assert.rejects(api.listNamespace(), /ECONNREFUSED|ECONNRESET|socket hang up/);
      await new Promise((r) => setTimeout(r, 400));
      assert.ok((await api.listNamespace()).items.length >= 4);

      s.faults.failNext(1, 500);
      const e500 = await apiError(api.listNamespace());
      assert.equal(e500.code, 500);
      assert.equal(e500.body.reason, 'InternalError');
      await api.listNamespace();

      s.faults.conflictStorm(2);
      for (let i = 0; i < 2; i++) assert.equal((await apiError(api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } }))).code, 409);
      await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });

      s.faults.slow(150);
      const t0 = Date.now();
      await api.listNamespace();
      assert.ok(Date.now() - t0 >= 140);
      s.faults.slow(0);

      const w2 = await startWatch(kc, '/api/v1/pods', {});
      await waitFor(() => s.openWatches === 1, 'watch open');
      s.faults.closeWatches();
      await waitFor(w2.done, 'watch closed by fault');
      assert.equal(w2.err(), null);
    });
  });

  it('resets connections in reset mode', async () => {
    await withServer({}, async (s) => {
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      await s.faults.down(10_000, 'reset');
      await assert.rejects(api.listNamespace());
      s.faults.clear();
      assert.ok((await api.listNamespace()).items.length >= 4);
    });
  });
});

describe('test apiserver: authentication and the node authorizer', () => {
  it('rejects unauthenticated and unknown tokens with 401, accepts static tokens', async () => {
    await withServer({ tokens: { secret: { name: 'alice', groups: ['system:masters'] } } }, async (s) => {
      const bad = await apiError(s.kubeconfig({ token: 'nope' }).makeApiClient(CoreV1Api).listNamespace());
      assert.equal(bad.code, 401);
      const raw = await fetch(`${s.url}/api/v1/namespaces`, { headers: { Authorization: 'Bearer nope' } }).catch(() => undefined);
      assert.equal(raw, undefined, 'plain fetch cannot even verify the test CA');
      assert.ok((await s.kubeconfig({ token: 'secret' }).makeApiClient(CoreV1Api).listNamespace()).items.length > 0);
      const bob = await apiError(s.kubeconfig({ user: 'bob', groups: ['devs'] }).makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' }));
      assert.equal(bob.code, 403);
      assert.equal(bob.body.message, 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"');
    });
  });

  it('allows a node what NodeRestriction allows and forbids the rest', async () => {
    await withServer({}, async (s) => {
      const admin = s.kubeconfig().makeApiClient(CoreV1Api);
      const kc = s.kubeconfig({ node: 'n1' });
      const node = kc.makeApiClient(CoreV1Api);
      const leases = kc.makeApiClient(CoordinationV1Api);
      await admin.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'mine' }, data: {} } });
      await admin.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'theirs' }, data: {} } });
      const mine = await admin.createNamespacedPod({ namespace: 'default', body: { ...pod('mine', 'n1'), spec: { ...pod('mine', 'n1').spec!, volumes: [{ name: 's', secret: { secretName: 'mine' } }] } } });
      await admin.createNamespacedPod({ namespace: 'default', body: pod('theirs', 'n2') });
      const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

      const allowed: [string, () => Promise<unknown>][] = [
        ['create own node', () => node.createNode({ body: { metadata: { name: 'n1' } } })],
        ['patch own node status', () => node.patchNodeStatus({ name: 'n1', body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } }, smp)],
        ['create own lease', () => leases.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1' } } })],
        ['watch own pods', () => node.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' })],
        ['get bound pod', () => node.readNamespacedPod({ name: 'mine', namespace: 'default' })],
        ['patch bound pod status', () => node.patchNamespacedPodStatus({ name: 'mine', namespace: 'default', body: { status: { phase: 'Running' } } }, smp)],
        ['get referenced secret', () => node.readNamespacedSecret({ name: 'mine', namespace: 'default' })],
        ['create event', () => node.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'mine' } } })],
        ['token for pod SA', () => node.createNamespacedServiceAccountToken({ name: 'default', namespace: 'default', body: { spec: { audiences: [], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'mine', uid: mine.metadata!.uid! } } } })],
        ['delete bound pod', () => node.deleteNamespacedPod({ name: 'mine', namespace: 'default', body: { gracePeriodSeconds: 0, preconditions: { uid: mine.metadata!.uid! } } })],
      ];
      for (const [what, call] of allowed) await assert.doesNotReject(call(), what);

      const denied: [string, () => Promise<unknown>, string][] = [
        ['create other node', () => node.createNode({ body: { metadata: { name: 'n2' } } }), 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'],
        ['list secrets', () => node.listNamespacedSecret({ namespace: 'default' }), 'secrets is forbidden: User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "default": can only get individual resources of this type'],
        ['get unrelated secret', () => node.readNamespacedSecret({ name: 'theirs', namespace: 'default' }), 'secrets "theirs" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node \'n1\' and this object'],
        ['list all pods', () => node.listPodForAllNamespaces({}), 'pods is forbidden: User "system:node:n1" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector'],
        ['patch other pod status', () => node.patchNamespacedPodStatus({ name: 'theirs', namespace: 'default', body: { status: { phase: 'Running' } } }, smp), 'pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself'],
        ['other lease', () => leases.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name: 'n2' } } }), 'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node'],
        ['create non-mirror pod', () => node.createNamespacedPod({ namespace: 'default', body: pod('x', 'n1') }), 'pods "x" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'],
        ['list namespaces', () => node.listNamespace(), 'namespaces is forbidden: User "system:node:n1" cannot list resource "namespaces" in API group "" at the cluster scope'],
      ];
      for (const [what, call, msg] of denied) {
        const e = await apiError(call());
        assert.equal(e.code, 403, what);
        assert.equal(e.body.reason, 'Forbidden', what);
        assert.equal(e.body.message, msg, what);
      }
    });
  });

  it('answers TokenReview, SubjectAccessReview and TokenRequest tokens that authenticate', async () => {
    await withServer({}, async (s) => {
      const admin = s.kubeconfig();
      const core = admin.makeApiClient(CoreV1Api);
      const p = await core.createNamespacedPod({ namespace: 'default', body: pod('p', 'n1') });
      const tr = await core.createNamespacedServiceAccountToken({ name: 'default', namespace: 'default', body: { spec: { audiences: ['api'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: p.metadata!.uid! } } } });
      assert.ok(tr.status?.token);
      assert.ok(tr.status?.expirationTimestamp instanceof Date || typeof tr.status?.expirationTimestamp === 'string');
      const review = await admin.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token: tr.status!.token } } });
      assert.equal(review.status?.authenticated, true);
      assert.equal(review.status?.user?.username, 'system:serviceaccount:default:default');
      const badReview = await admin.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token: 'nope' } } });
      assert.notEqual(badReview.status?.authenticated, true);
      const authz = admin.makeApiClient(AuthorizationV1Api);
      const yes = await authz.createSubjectAccessReview({ body: { spec: { user: 'system:node:n1', groups: ['system:nodes'], resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default', name: 'p' } } } });
      assert.equal(yes.status?.allowed, true);
      const no = await authz.createSubjectAccessReview({ body: { spec: { user: 'system:node:n2', groups: ['system:nodes'], resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default', name: 'p' } } } });
      assert.equal(no.status?.allowed, false);
      const short = await apiError(core.createNamespacedServiceAccountToken({ name: 'default', namespace: 'default', body: { spec: { audiences: [], expirationSeconds: 60 } } }));
      assert.equal(short.code, 422);
    });
  });

  it('signs an approved CSR with the test CA; the certificate authenticates', async () => {
    await withServer({}, async (s) => {
      const boot = s.kubeconfig({ node: 'n1' });
      const certs = boot.makeApiClient(CertificatesV1Api);
      const { key, csr } = createKeyAndCSR('system:node:n9', ['system:nodes']);
      const created = await certs.createCertificateSigningRequest({ body: { metadata: { generateName: 'node-csr-' }, spec: {
        request: Buffer.from(csr).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] } } });
      const name = created.metadata!.name!;
      assert.equal(created.spec.username, 'system:node:n1');
      const denied = await apiError(certs.replaceCertificateSigningRequestApproval({ name, body: created }));
      assert.equal(denied.code, 403);
      const admin = s.kubeconfig().makeApiClient(CertificatesV1Api);
      const cur = await admin.readCertificateSigningRequest({ name });
      cur.status = { conditions: [{ type: 'Approved', status: 'True', reason: 'Test', message: 'ok' }] };
      await admin.replaceCertificateSigningRequestApproval({ name, body: cur });
      let pem = '';
      await (async () => {
        for (let i = 0; i < 200 && !pem; i++) {
          const c = await certs.readCertificateSigningRequest({ name });
          pem = c.status?.certificate ? Buffer.from(c.status.certificate, 'base64').toString() : '';
          if (!pem) await new Promise((r) => setTimeout(r, 10));
        }
      })();
      assert.match(pem, /BEGIN CERTIFICATE/);
      const kc = s.kubeconfig({ node: 'n9' });
      kc.loadFromOptions({
        clusters: kc.clusters, contexts: kc.contexts, currentContext: 'test',
        users: [{ name: 'system:node:n9', certData: Buffer.from(pem).toString('base64'), keyData: Buffer.from(key).toString('base64') }],
      });
      await kc.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name: 'n9' } } });
      assert.ok(s.get('nodes', '', 'n9'));
    });
  });

  it('serves discovery', async () => {
    await withServer({ tls: false }, async (s) => {
      const r = await fetch(`${s.url}/apis`);
      const body = (await r.json()) as { groups: { name: string }[] };
      assert.ok(body.groups.some((g) => g.name === 'coordination.k8s.io'));
      const v1 = (await (await fetch(`${s.url}/api/v1`)).json()) as { resources: { name: string }[] };
      assert.ok(v1.resources.some((x) => x.name === 'pods/status'));
      const api = s.kubeconfig().makeApiClient(CoreV1Api);
      assert.ok((await api.listNamespace()).items.length >= 4, 'plain HTTP works without credentials');
    });
  });
});
