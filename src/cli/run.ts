// `nodelet run`: the kubelet itself (standalone mode: static pods from a directory or URL).
//
// Flags carry the kubelet's names; a KubeletConfiguration v1beta1 file (--config) sets the rest.
// Flags win over the file, as upstream. The local API (/healthz, /pods, /metrics, /events) listens
// on healthzBindAddress:healthzPort (127.0.0.1:10248).

import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { completeKubeletConfiguration, loadKubeletConfiguration, type ConfigNotice, type KubeletConfiguration } from '../config/index.js';
import { join } from 'node:path';
import { kubeletServingCertificate, loadClientCert, loadKubeConfig, newKubeletClientCertificateManager, type CertificateManager } from '../kubelet/certificates/index.js';
import { Kubelet, type KubeletSettings } from '../kubelet/kubelet.js';
import { parseThresholdConfig } from '../kubelet/eviction/index.js';
import { parseTaints } from '../kubelet/nodestatus/index.js';
import { kubeletCompatVersion } from '../version.js';
import { defaultNodeDockerConfigPaths } from '../kubelet/images/index.js';
import { detectNodeContext, nodeName } from '../kubelet/nodeinfo.js';
import { LocalServer, SecureServer } from '../kubelet/server/index.js';
import { containerLogsHandler, containerLogsPrefix } from '../kubelet/server/logs.js';
import { registerStreamingRoutes } from '../kubelet/server/streaming.js';
import { probeMetricsContentType, renderProbeMetrics } from '../kubelet/prober/index.js';
import { CriClient } from '../runtime/cri/index.js';
import { instrumentRuntime, type Runtime } from '../runtime/index.js';
import { SimRuntime } from '../runtime/sim/index.js';
import { RealClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { ValidationError } from '../util/errors.js';
import { createLogger, type LogLevel } from '../util/logger.js';
import { newRegistry } from '../util/metrics.js';
import { collectDefaultMetrics } from 'prom-client';

export interface RunFlags {
  config?: string;
  podManifestPath?: string;
  manifestUrl?: string;
  containerRuntimeEndpoint?: string;
  rootDir: string;
  podLogsDir?: string;
  hostnameOverride?: string;
  nodeIp?: string;
  healthzPort?: string;
  healthzBindAddress?: string;
  syncFrequency?: string;
  fileCheckFrequency?: string;
  runtimeRequestTimeout?: string;
  serializeImagePulls?: string;
  maxParallelImagePulls?: string;
  registryQps?: string;
  registryBurst?: string;
  imageGcHighThreshold?: string;
  imageGcLowThreshold?: string;
  minimumImageTtlDuration?: string;
  evictionHard?: string;
  podInfraContainerImage?: string;
  minimumContainerTtlDuration?: string;
  maximumDeadContainersPerContainer?: string;
  maximumDeadContainers?: string;
  kubeconfig?: string;
  nodeLabels?: string;
  registerWithTaints?: string;
  bootstrapKubeconfig?: string;
  certDir?: string;
  rotateCertificates?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  anonymousAuth?: string;
  authenticationTokenWebhook?: string;
  authorizationMode?: string;
  address?: string;
  port?: string;
  readOnlyPort?: string;
  v: string;
  loggingFormat: 'json' | 'text';
}

/** Config file + flags -> one validated configuration (flags win). */
export function resolveConfig(flags: RunFlags, notices: ConfigNotice[]): KubeletConfiguration {
  const base = flags.config ? loadKubeletConfiguration(flags.config, notices) : completeKubeletConfiguration({});
  const over: Record<string, unknown> = { ...base };
  if (flags.podManifestPath !== undefined) over['staticPodPath'] = flags.podManifestPath;
  if (flags.manifestUrl !== undefined) over['staticPodURL'] = flags.manifestUrl;
  if (flags.containerRuntimeEndpoint !== undefined) over['containerRuntimeEndpoint'] = flags.containerRuntimeEndpoint;
  if (flags.podLogsDir !== undefined) over['podLogsDir'] = flags.podLogsDir;
  if (flags.healthzPort !== undefined) {
    // an int flag, parsed strictly as pflag does ("" or "12x" is an error, not 0)
    if (!/^\d+$/.test(flags.healthzPort)) throw new ValidationError('flags', 'healthzPort', `--healthz-port: invalid port "${flags.healthzPort}"`);
    over['healthzPort'] = Number(flags.healthzPort);
  }
  if (flags.healthzBindAddress !== undefined) over['healthzBindAddress'] = flags.healthzBindAddress;
  if (flags.syncFrequency !== undefined) over['syncFrequency'] = flags.syncFrequency;
  if (flags.fileCheckFrequency !== undefined) over['fileCheckFrequency'] = flags.fileCheckFrequency;
  if (flags.runtimeRequestTimeout !== undefined) over['runtimeRequestTimeout'] = flags.runtimeRequestTimeout;
  if (flags.serializeImagePulls !== undefined) {
    if (flags.serializeImagePulls !== 'true' && flags.serializeImagePulls !== 'false') throw new ValidationError('flags', 'serializeImagePulls', `--serialize-image-pulls: must be true or false, got "${flags.serializeImagePulls}"`);
    over['serializeImagePulls'] = flags.serializeImagePulls === 'true';
  }
  const ints: Array<[string | undefined, string, string]> = [
    [flags.maxParallelImagePulls, 'maxParallelImagePulls', '--max-parallel-image-pulls'],
    [flags.registryQps, 'registryPullQPS', '--registry-qps'],
    [flags.registryBurst, 'registryBurst', '--registry-burst'],
    [flags.imageGcHighThreshold, 'imageGCHighThresholdPercent', '--image-gc-high-threshold'],
    [flags.imageGcLowThreshold, 'imageGCLowThresholdPercent', '--image-gc-low-threshold'],
  ];
  for (const [v, field, flag] of ints) if (v !== undefined) over[field] = intFlag(v, field, flag);
  if (flags.minimumImageTtlDuration !== undefined) over['imageMinimumGCAge'] = flags.minimumImageTtlDuration;
  if (flags.evictionHard !== undefined) over['evictionHard'] = parseMapFlag(flags.evictionHard, 'evictionHard', '--eviction-hard', '<');
  // the kubelet API's flags (upstream keeps them as deprecated aliases of the config fields)
  const bools: Array<[string | undefined, string, string]> = [
    [flags.rotateCertificates, 'rotateCertificates', '--rotate-certificates'],
  ];
  for (const [v, field, flag] of bools) if (v !== undefined) over[field] = boolFlag(v, field, flag);
  if (flags.tlsCertFile !== undefined) over['tlsCertFile'] = flags.tlsCertFile;
  if (flags.tlsPrivateKeyFile !== undefined) over['tlsPrivateKeyFile'] = flags.tlsPrivateKeyFile;
  if (flags.address !== undefined) over['address'] = flags.address;
  if (flags.port !== undefined) over['port'] = intFlag(flags.port, 'port', '--port');
  if (flags.readOnlyPort !== undefined) over['readOnlyPort'] = intFlag(flags.readOnlyPort, 'readOnlyPort', '--read-only-port');
  const authn = structuredClone(base.authentication);
  if (flags.clientCaFile !== undefined) authn.x509.clientCAFile = flags.clientCaFile;
  if (flags.anonymousAuth !== undefined) authn.anonymous.enabled = boolFlag(flags.anonymousAuth, 'authentication.anonymous.enabled', '--anonymous-auth');
  if (flags.authenticationTokenWebhook !== undefined) authn.webhook.enabled = boolFlag(flags.authenticationTokenWebhook, 'authentication.webhook.enabled', '--authentication-token-webhook');
  over['authentication'] = authn;
  if (flags.authorizationMode !== undefined) over['authorization'] = { ...base.authorization, mode: flags.authorizationMode };
  return completeKubeletConfiguration(over, 'flags');
}

function boolFlag(v: string, field: string, flag: string): boolean {
  if (v !== 'true' && v !== 'false') throw new ValidationError('flags', field, `${flag}: must be true or false, got "${v}"`);
  return v === 'true';
}

/** An int flag parsed strictly, as pflag does ("" or "12x" is an error, not 0); "-1" allowed where said. */
function intFlag(v: string, field: string, flag: string, allowNegative = false): number {
  if (!(allowNegative ? /^-?\d+$/ : /^\d+$/).test(v)) throw new ValidationError('flags', field, `${flag}: invalid integer "${v}"`);
  return Number(v);
}

/** A map flag as the kubelet's ConfigurationMap / LangleSeparatedMapStringString: "k<v,k2<v2". */
function parseMapFlag(v: string, field: string, flag: string, sep: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = part.indexOf(sep);
    if (i <= 0) throw new ValidationError('flags', field, `${flag}: malformed pair "${part}", expected key${sep}value`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** The container GC policy flags (upstream keeps these as deprecated flags, not config fields). */
export function containerGCPolicy(flags: Pick<RunFlags, 'minimumContainerTtlDuration' | 'maximumDeadContainersPerContainer' | 'maximumDeadContainers'>): { minAgeMs: number; maxPerPodContainer: number; maxContainers: number } {
  return {
    minAgeMs: parseDuration(flags.minimumContainerTtlDuration ?? '0s'),
    maxPerPodContainer: intFlag(flags.maximumDeadContainersPerContainer ?? '1', 'maximumDeadContainersPerContainer', '--maximum-dead-containers-per-container', true),
    maxContainers: intFlag(flags.maximumDeadContainers ?? '-1', 'maximumDeadContainers', '--maximum-dead-containers', true),
  };
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the node agent (standalone: static pods from --pod-manifest-path / --manifest-url)')
    .option('--config <file>', 'KubeletConfiguration (kubelet.config.k8s.io/v1beta1) file')
    .option('--pod-manifest-path <path>', 'directory (or file) of static pod manifests (staticPodPath)')
    .option('--manifest-url <url>', 'URL of static pod manifests (staticPodURL)')
    .option('--container-runtime-endpoint <endpoint>', 'CRI endpoint, or sim:// for the simulated runtime (containerRuntimeEndpoint)')
    .option('--root-dir <dir>', 'directory for the kubelet files (pod directories, volumes)', '/var/lib/kubelet')
    .option('--pod-logs-dir <dir>', 'directory of pod logs (podLogsDir, default /var/log/pods)')
    .option('--hostname-override <name>', 'node name instead of the hostname')
    .option('--node-ip <ip>', 'the node IP (default: first non-loopback IPv4 address)')
    .option('--healthz-port <port>', 'port of the local API (/healthz, /pods, /metrics) (healthzPort, default 10248)')
    .option('--healthz-bind-address <ip>', 'address of the local API (healthzBindAddress, default 127.0.0.1)')
    .option('--sync-frequency <duration>', 'pod resync period (syncFrequency, default 1m0s)')
    .option('--file-check-frequency <duration>', 'manifest directory rescan period (fileCheckFrequency, default 20s)')
    .option('--runtime-request-timeout <duration>', 'CRI call deadline (runtimeRequestTimeout, default 2m0s)')
    .option('--serialize-image-pulls <bool>', 'pull one image at a time (serializeImagePulls, default true)')
    .option('--max-parallel-image-pulls <n>', 'cap on parallel pulls when not serialized (maxParallelImagePulls)')
    .option('--registry-qps <n>', 'image pulls per second, 0 = no limit (registryPullQPS, default 5)')
    .option('--registry-burst <n>', 'pull burst above --registry-qps (registryBurst, default 10)')
    .option('--image-gc-high-threshold <percent>', 'image GC runs above this disk usage (imageGCHighThresholdPercent, default 85)')
    .option('--image-gc-low-threshold <percent>', 'image GC frees down to this disk usage (imageGCLowThresholdPercent, default 80)')
    .option('--minimum-image-ttl-duration <duration>', 'minimum age of an unused image before GC (imageMinimumGCAge, default 2m0s)')
    .option('--eviction-hard <list>', 'hard eviction thresholds, e.g. "nodefs.available<10%,imagefs.available<15%" (evictionHard)')
    .option('--pod-infra-container-image <image>', 'the sandbox image, never garbage collected', 'localhost/pause:3.9')
    .option('--minimum-container-ttl-duration <duration>', 'minimum age of a dead container before GC', '0s')
    .option('--maximum-dead-containers-per-container <n>', 'dead containers kept per container (-1: no limit)', '1')
    .option('--maximum-dead-containers <n>', 'dead containers kept in all (-1: no limit)', '-1')
    .option('--kubeconfig <file>', 'cluster mode: join the cluster this kubeconfig points at (register the Node, run its pods)')
    .option('--node-labels <list>', 'labels to register the Node with, "key=value,..." (cluster mode)')
    .option('--register-with-taints <list>', 'taints to register the Node with, "key=value:Effect,..." (cluster mode)')
    .option('--bootstrap-kubeconfig <file>', 'TLS bootstrap: credentials allowed to request the node\'s client certificate; writes --kubeconfig')
    .option('--cert-dir <dir>', 'where certificates and keys go (default <root-dir>/pki)')
    .option('--rotate-certificates <bool>', 'rotate the client certificate by CSR as it nears expiry (rotateCertificates)')
    .option('--tls-cert-file <file>', 'serving certificate of the kubelet API (tlsCertFile; default self-signed in --cert-dir)')
    .option('--tls-private-key-file <file>', 'its private key (tlsPrivateKeyFile)')
    .option('--client-ca-file <file>', 'CA bundle that client certificates of the kubelet API are checked against (authentication.x509.clientCAFile)')
    .option('--anonymous-auth <bool>', 'let unauthenticated requests to the kubelet API through as system:anonymous (default false)')
    .option('--authentication-token-webhook <bool>', 'check bearer tokens with TokenReview (default true)')
    .option('--authorization-mode <mode>', 'Webhook (SubjectAccessReview) or AlwaysAllow (default Webhook)')
    .option('--address <ip>', 'address of the kubelet API (default 0.0.0.0)')
    .option('--port <port>', 'port of the kubelet API (default 10250; cluster mode)')
    .option('--read-only-port <port>', 'the unauthenticated read-only port (default 0: off; nodelet does not serve it)')
    .option('--v <level>', 'log verbosity: 0 info, 4+ debug', '0')
    .option('--logging-format <format>', 'json or text', 'json')
    .action(async (flags: RunFlags) => {
      const logger = createLogger({ level: (Number(flags.v) >= 4 ? 'debug' : 'info') as LogLevel, format: flags.loggingFormat });
      const notices: ConfigNotice[] = [];
      const cfg = resolveConfig(flags, notices);
      for (const n of notices) (n.level === 'warn' ? logger.warn : logger.info).call(logger, n.message, { field: n.field });
      const clock = new RealClock();
      const registry = newRegistry();
      collectDefaultMetrics({ register: registry });
      const name = nodeName(flags.hostnameOverride);
      let runtime: Runtime;
      let runtimeName = 'containerd';
      if (cfg.containerRuntimeEndpoint.startsWith('sim://')) {
        // the simulated node holds the images the examples and scripts/runtime-up.sh use
        runtime = new SimRuntime({
          clock,
          images: [{ ref: 'localhost/busybox:latest', defaultCommand: ['sh'] }, { ref: 'localhost/pause:3.9' }],
          registry: ['latest', '1.0'].map((tag) => ({ ref: `127.0.0.1:5000/busybox:${tag}`, defaultCommand: ['sh'] })),
        });
        runtimeName = 'sim';
      } else {
        const cri = await CriClient.connect({ endpoint: cfg.containerRuntimeEndpoint, requestTimeoutMs: parseDuration(cfg.runtimeRequestTimeout) });
        const v = await cri.version();
        runtimeName = v.runtimeName;
        logger.info('connected to the container runtime', { endpoint: cfg.containerRuntimeEndpoint, runtime: v.runtimeName, version: v.runtimeVersion, apiVersion: v.runtimeApiVersion });
        runtime = cri;
      }
      runtime = instrumentRuntime(runtime, registry);
      mkdirSync(flags.rootDir, { recursive: true });
      mkdirSync(cfg.podLogsDir, { recursive: true });
      const nodeContext = detectNodeContext({ nodeName: name, hostIP: flags.nodeIp, resolvConf: cfg.resolvConf, clusterDNS: cfg.clusterDNS, clusterDomain: cfg.clusterDomain, rootDir: flags.rootDir });
      let cluster: KubeletSettings['cluster'];
      let clientCertManager: CertificateManager | undefined;
      const certDir = flags.certDir ?? join(flags.rootDir, 'pki');
      if (flags.kubeconfig) {
        // TLS bootstrap (LoadClientCert): a missing or expired kubeconfig is made from a CSR
        const kubeConfig = flags.bootstrapKubeconfig
          ? await loadClientCert({ kubeconfigPath: flags.kubeconfig, bootstrapKubeconfigPath: flags.bootstrapKubeconfig, certDir, nodeName: name, clock, logger: logger.child({ component: 'bootstrap' }) })
          : loadKubeConfig(flags.kubeconfig);
        if (cfg.rotateCertificates) {
          clientCertManager = newKubeletClientCertificateManager({ certDir, nodeName: name, kubeConfig, clock, logger, registry });
          clientCertManager.start();
        }
        cluster = {
          kubeConfig,
          node: {
            nodeName: name,
            hostname: name,
            nodeIP: nodeContext.hostIP,
            maxPods: cfg.maxPods,
            kubeletVersion: kubeletCompatVersion,
            kubeletPort: cfg.port,
            nodeLabels: parseMapFlag(flags.nodeLabels ?? '', 'nodeLabels', '--node-labels', '='),
            registerWithTaints: parseTaints(flags.registerWithTaints ?? ''),
            hardEvictionThresholds: parseThresholdConfig({ evictionHard: cfg.evictionHard }).filter((t) => !t.gracePeriodMs),
          },
          nodeStatusUpdateFrequencyMs: parseDuration(cfg.nodeStatusUpdateFrequency),
          nodeStatusReportFrequencyMs: parseDuration(cfg.nodeStatusReportFrequency),
          nodeLeaseDurationSeconds: cfg.nodeLeaseDurationSeconds,
          eventRecordQPS: cfg.eventRecordQPS,
          eventBurst: cfg.eventBurst,
        };
        logger.info('cluster mode', { kubeconfig: flags.kubeconfig, server: kubeConfig.getCurrentCluster()?.server });
      }
      const kubelet = new Kubelet(
        {
          nodeName: name,
          rootDir: flags.rootDir,
          podLogsDir: cfg.podLogsDir,
          staticPodPath: cfg.staticPodPath,
          staticPodURL: cfg.staticPodURL,
          syncFrequencyMs: parseDuration(cfg.syncFrequency),
          fileCheckFrequencyMs: parseDuration(cfg.fileCheckFrequency),
          httpCheckFrequencyMs: parseDuration(cfg.httpCheckFrequency),
          node: nodeContext,
          runtimeName,
          containerLogMaxSize: cfg.containerLogMaxSize,
          containerLogMaxFiles: cfg.containerLogMaxFiles,
          imagePulls: {
            serializeImagePulls: cfg.serializeImagePulls,
            ...(cfg.maxParallelImagePulls ? { maxParallelImagePulls: cfg.maxParallelImagePulls } : {}),
            registryPullQPS: cfg.registryPullQPS,
            registryBurst: cfg.registryBurst,
            // standalone: the node's docker config.json (<root-dir>/config.json, ~/.docker/config.json)
            nodeDockerConfigPaths: defaultNodeDockerConfigPaths(flags.rootDir),
          },
          imageGC: {
            highThresholdPercent: cfg.imageGCHighThresholdPercent,
            lowThresholdPercent: cfg.imageGCLowThresholdPercent,
            minAgeMs: parseDuration(cfg.imageMinimumGCAge),
            maxAgeMs: parseDuration(cfg.imageMaximumGCAge),
          },
          sandboxImage: flags.podInfraContainerImage ?? 'localhost/pause:3.9',
          containerGC: containerGCPolicy(flags),
          eviction: { evictionHard: cfg.evictionHard, evictionPressureTransitionPeriod: cfg.evictionPressureTransitionPeriod },
          ...(cluster ? { cluster } : {}),
        },
        { runtime, clock, logger, registry },
      );
      const server = new LocalServer(kubelet, registry, logger.child({ component: 'server' }));
      registerStreamingRoutes(server, { lookup: kubelet, runtime, logger: logger.child({ component: 'server' }) });
      server.addRoute(containerLogsPrefix, containerLogsHandler(kubelet, runtime, clock, logger.child({ component: 'server' })));
      server.addRoute('/metrics/probes', async (_req, res) => {
        res.writeHead(200, { 'Content-Type': probeMetricsContentType });
        res.end(await renderProbeMetrics(registry));
      });
      const endpoints = '/healthz /pods /metrics /metrics/probes /events /containerLogs /run /exec /attach /portForward';
      // cluster mode: the healthz port answers /healthz only; the rest is on the authenticated :10250
      const port = await server.listen(cfg.healthzPort, cfg.healthzBindAddress, { healthzOnly: !!cluster });
      let secure: SecureServer | undefined;
      let servingCertManager: CertificateManager | undefined;
      if (cluster && cfg.enableServer) {
        const serving = await kubeletServingCertificate({
          certDir, nodeName: name, kubeConfig: cluster.kubeConfig, clock, logger, registry, hostname: name,
          serverTLSBootstrap: cfg.serverTLSBootstrap, tlsCertFile: cfg.tlsCertFile, tlsPrivateKeyFile: cfg.tlsPrivateKeyFile,
          addresses: () => (kubelet.nodeStatus?.node()?.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
        });
        servingCertManager = serving.manager;
        servingCertManager?.start();
        secure = new SecureServer({
          address: cfg.address,
          port: cfg.port,
          tls: serving.source,
          ...(cfg.authentication.x509.clientCAFile ? { clientCAFile: cfg.authentication.x509.clientCAFile } : {}),
          anonymousEnabled: cfg.authentication.anonymous.enabled,
          webhookAuthn: { enabled: cfg.authentication.webhook.enabled, cacheTTLMs: parseDuration(cfg.authentication.webhook.cacheTTL) },
          authorizationMode: cfg.authorization.mode,
          webhookAuthz: { cacheAuthorizedTTLMs: parseDuration(cfg.authorization.webhook.cacheAuthorizedTTL), cacheUnauthorizedTTLMs: parseDuration(cfg.authorization.webhook.cacheUnauthorizedTTL) },
          kubeConfig: cluster.kubeConfig,
          nodeName: name,
          clock,
          logger: logger.child({ component: 'server' }),
          handler: server,
        });
        const securePort = await secure.listen();
        logger.info('kubelet API listening', { address: `https://${cfg.address}:${securePort}`, endpoints, authentication: cfg.authentication, authorizationMode: cfg.authorization.mode });
      }
      if (cfg.readOnlyPort !== 0) logger.warn('readOnlyPort is not served: nodelet has no unauthenticated read-only port', { readOnlyPort: cfg.readOnlyPort });
      kubelet.start();
      logger.info('local API listening', { address: `http://${cfg.healthzBindAddress}:${port}`, endpoints: cluster ? '/healthz' : endpoints });
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          logger.info('shutting down; pods keep running and are adopted at the next start', { signal: sig });
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await kubelet.stop();
      clientCertManager?.stop();
      servingCertManager?.stop();
      await secure?.close();
      await server.close();
      runtime.close();
    });
}
