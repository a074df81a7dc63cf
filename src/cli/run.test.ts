// `nodelet run`'s configuration: a KubeletConfiguration file plus the kubelet's flags, merged
// into one validated config (resolveConfig), with notices for fields nodelet does not act on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ConfigNotice } from '../config/index.js';
import { defaultRuntimeEndpoint } from '../config/index.js';
import { ConfigError, ValidationError } from '../util/errors.js';
import { resolveConfig, type RunFlags } from './run.js';

const header = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';

describe('resolveConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-run-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (body: string): string => {
    const p = join(dir, `kubelet-${++n}.yaml`);
    writeFileSync(p, header + body);
    return p;
  };
  const flags = (extra: Partial<RunFlags> = {}): RunFlags => ({ rootDir: '/var/lib/kubelet', v: '0', loggingFormat: 'json', ...extra });

  it('without a file: the upstream defaults, no notices', () => {
    const notices: ConfigNotice[] = [];
    const cfg = resolveConfig(flags(), notices);
    assert.equal(cfg.containerRuntimeEndpoint, defaultRuntimeEndpoint);
    assert.equal(cfg.healthzPort, 10248);
    assert.equal(cfg.healthzBindAddress, '127.0.0.1');
    assert.equal(cfg.syncFrequency, '1m0s');
    assert.equal(cfg.fileCheckFrequency, '20s');
    assert.equal(cfg.runtimeRequestTimeout, '2m0s');
    assert.equal(cfg.podLogsDir, '/var/log/pods');
    assert.equal(cfg.staticPodPath, '');
    assert.equal(cfg.staticPodURL, '');
    assert.deepEqual([cfg.apiVersion, cfg.kind], ['kubelet.config.k8s.io/v1beta1', 'KubeletConfiguration']);
    assert.deepEqual(notices, []);
  });

  it('the file sets what the flags leave alone', () => {
    const cfg = resolveConfig(
      flags({ config: file('staticPodPath: /etc/kubernetes/manifests\nhealthzPort: 12345\nclusterDomain: cluster.local\nclusterDNS: ["10.96.0.10"]\nsyncFrequency: 30s\n') }),
      [],
    );
    assert.equal(cfg.staticPodPath, '/etc/kubernetes/manifests');
    assert.equal(cfg.healthzPort, 12345);
    assert.equal(cfg.clusterDomain, 'cluster.local');
    assert.deepEqual(cfg.clusterDNS, ['10.96.0.10']);
    assert.equal(cfg.syncFrequency, '30s');
    assert.equal(cfg.fileCheckFrequency, '20s', 'defaults fill the rest');
  });

  it('flags override the file, field by field', () => {
    const config = file(
      'staticPodPath: /from/file\nstaticPodURL: http://file.example/pods\ncontainerRuntimeEndpoint: unix:///file.sock\npodLogsDir: /file/logs\nhealthzPort: 1111\nhealthzBindAddress: 0.0.0.0\nsyncFrequency: 30s\nfileCheckFrequency: 30s\nruntimeRequestTimeout: 30s\nclusterDomain: file.local\n',
    );
    const cfg = resolveConfig(
      flags({
        config,
        podManifestPath: '/from/flag',
        manifestUrl: 'http://flag.example/pods',
        containerRuntimeEndpoint: 'unix:///flag.sock',
        podLogsDir: '/flag/logs',
        healthzPort: '2222',
        healthzBindAddress: '127.0.0.2',
        syncFrequency: '10s',
        fileCheckFrequency: '5s',
        runtimeRequestTimeout: '1m',
      }),
      [],
    );
    assert.deepEqual(
      [cfg.staticPodPath, cfg.staticPodURL, cfg.containerRuntimeEndpoint, cfg.podLogsDir, cfg.healthzPort, cfg.healthzBindAddress, cfg.syncFrequency, cfg.fileCheckFrequency, cfg.runtimeRequestTimeout],
      ['/from/flag', 'http://flag.example/pods', 'unix:///flag.sock', '/flag/logs', 2222, '127.0.0.2', '10s', '5s', '1m'],
    );
    assert.equal(cfg.clusterDomain, 'file.local', 'a field without a flag keeps the file value');
  });

  it('an empty flag value still overrides (--pod-manifest-path "")', () => {
    const cfg = resolveConfig(flags({ config: file('staticPodPath: /from/file\n'), podManifestPath: '' }), []);
    assert.equal(cfg.staticPodPath, '');
  });

  it('an unknown field in the file: a warn notice naming it and the file', () => {
    const path = file('staticPodPath: /m\nstaticPodPaht: /typo\n');
    const notices: ConfigNotice[] = [];
    const cfg = resolveConfig(flags({ config: path }), notices);
    assert.equal(cfg.staticPodPath, '/m');
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.level, 'warn');
    assert.equal(notices[0]!.field, 'staticPodPaht');
    assert.ok(notices[0]!.message.includes(path) && notices[0]!.message.includes('staticPodPaht'), notices[0]!.message);
    assert.equal((cfg as unknown as Record<string, unknown>)['staticPodPaht'], undefined, 'not carried into the config');
  });

  it('an upstream field nodelet does not implement yet: an info notice', () => {
    const notices: ConfigNotice[] = [];
    resolveConfig(flags({ config: file('featureGates:\n  SomeGate: true\nevictionSoft:\n  memory.available: 100Mi\n') }), notices);
    assert.deepEqual(
      notices.map((x) => [x.level, x.field]),
      [
        ['info', 'featureGates'],
        ['info', 'evictionSoft'],
      ],
    );
    assert.match(notices[0]!.message, /featureGates.*not implemented/);
  });

  it('image and eviction settings: upstream defaults, file values, flags over the file', () => {
    const d = resolveConfig(flags(), []);
    assert.equal(d.serializeImagePulls, true);
    assert.deepEqual([d.registryPullQPS, d.registryBurst, d.imageGCHighThresholdPercent, d.imageGCLowThresholdPercent], [5, 10, 85, 80]);
    assert.deepEqual([d.imageMinimumGCAge, d.imageMaximumGCAge], ['2m0s', '0s']);
    assert.equal(d.evictionHard['imagefs.available'], '15%');
    assert.equal(d.evictionHard['nodefs.available'], '10%');
    const path = file('serializeImagePulls: false\nmaxParallelImagePulls: 3\nimageGCHighThresholdPercent: 90\nevictionHard:\n  nodefs.available: 5%\n');
    const f = resolveConfig(flags({ config: path }), []);
    assert.deepEqual([f.serializeImagePulls, f.maxParallelImagePulls, f.imageGCHighThresholdPercent], [false, 3, 90]);
    assert.deepEqual(f.evictionHard, { 'nodefs.available': '5%' }, 'a set evictionHard replaces the defaults, as upstream');
    const o = resolveConfig(flags({ config: path, serializeImagePulls: 'true', imageGcHighThreshold: '70', imageGcLowThreshold: '60', evictionHard: 'imagefs.available<20%, nodefs.available<1Gi' }), []);
    assert.deepEqual([o.serializeImagePulls, o.imageGCHighThresholdPercent, o.imageGCLowThresholdPercent], [true, 70, 60]);
    assert.deepEqual(o.evictionHard, { 'imagefs.available': '20%', 'nodefs.available': '1Gi' });
    assert.throws(() => resolveConfig(flags({ imageGcLowThreshold: '90' }), []), /imageGCLowThresholdPercent.*less than imageGCHighThresholdPercent \(85\)/);
    assert.throws(() => resolveConfig(flags({ evictionHard: 'nodefs.available=10%' }), []), /--eviction-hard: malformed pair "nodefs.available=10%"/);
    assert.throws(() => resolveConfig(flags({ serializeImagePulls: 'yes' }), []), /--serialize-image-pulls: must be true or false/);
    assert.throws(() => resolveConfig(flags({ config: file('imageGCHighThresholdPercent: 101\n') }), []), /imageGCHighThresholdPercent.*0\.\.100/);
  });

  const wrongTypes: [string, string, string][] = [
    ['healthzPort as a string', 'healthzPort: "x"\n', 'healthzPort'],
    ['healthzPort out of range', 'healthzPort: 70000\n', 'healthzPort'],
    ['fileCheckFrequency as a number', 'fileCheckFrequency: 5\n', 'fileCheckFrequency'],
    ['syncFrequency not a duration', 'syncFrequency: often\n', 'syncFrequency'],
    ['clusterDNS as a string', 'clusterDNS: 10.96.0.10\n', 'clusterDNS'],
    ['maxPods negative', 'maxPods: -1\n', 'maxPods'],
    ['staticPodPath as a list', 'staticPodPath: [a, b]\n', 'staticPodPath'],
  ];
  for (const [name, body, field] of wrongTypes) {
    it(`rejects ${name} with a ValidationError naming the file and the field`, () => {
      const path = file(body);
      assert.throws(
        () => resolveConfig(flags({ config: path }), []),
        (e: unknown) => e instanceof ValidationError && e.object === path && e.field === field && e.message.startsWith(`${path}: ${field}: `),
      );
    });
  }

  it('a wrong flag value is a ValidationError naming the flags and the field', () => {
    assert.throws(() => resolveConfig(flags({ healthzPort: 'abc' }), []), (e: unknown) => e instanceof ValidationError && e.object === 'flags' && e.field === 'healthzPort');
    assert.throws(() => resolveConfig(flags({ healthzPort: '80.5' }), []), (e: unknown) => e instanceof ValidationError && e.field === 'healthzPort');
    assert.throws(() => resolveConfig(flags({ syncFrequency: 'soon' }), []), (e: unknown) => e instanceof ValidationError && e.object === 'flags' && e.field === 'syncFrequency');
    assert.throws(() => resolveConfig(flags({ containerRuntimeEndpoint: '' }), []), (e: unknown) => e instanceof ValidationError && e.field === 'containerRuntimeEndpoint');
  });

  it('a bad file value is rejected even when a flag would override it (the file is decoded on its own, as upstream)', () => {
    assert.throws(() => resolveConfig(flags({ config: file('healthzPort: "x"\n'), healthzPort: '10248' }), []), ValidationError);
  });

  it(
    'an empty --healthz-port is rejected, not taken as port 0',
    () => {
      assert.throws(() => resolveConfig(flags({ healthzPort: '' }), []), ValidationError);
    },
  );

  it('a missing or unreadable file is a ConfigError naming it', () => {
    const missing = join(dir, 'absent.yaml');
    assert.throws(() => resolveConfig(flags({ config: missing }), []), (e: unknown) => e instanceof ConfigError && e.message.includes(missing));
  });
});
