// `nodelet run`: the kubelet itself (standalone mode: static pods from a directory or URL).
//
// Flags carry the kubelet's names; a KubeletConfiguration v1beta1 file (--config) sets the rest.
// Flags win over the file, as upstream. The local API (/healthz, /pods, /metrics, /events) listens
// on healthzBindAddress:healthzPort (127.0.0.1:10248).

import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { completeKubeletConfiguration, loadKubeletConfiguration, type ConfigNotice, type KubeletConfiguration } from '../config/index.js';
import { Kubelet } from '../kubelet/kubelet.js';
import { detectNodeContext, nodeName } from '../kubelet/nodeinfo.js';
import { LocalServer } from '../kubelet/server/index.js';
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
  return completeKubeletConfiguration(over, 'flags');
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
          node: detectNodeContext({ nodeName: name, hostIP: flags.nodeIp, resolvConf: cfg.resolvConf, clusterDNS: cfg.clusterDNS, clusterDomain: cfg.clusterDomain, rootDir: flags.rootDir }),
          runtimeName,
          containerLogMaxSize: cfg.containerLogMaxSize,
          containerLogMaxFiles: cfg.containerLogMaxFiles,
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
      const port = await server.listen(cfg.healthzPort, cfg.healthzBindAddress);
      kubelet.start();
      logger.info('local API listening', { address: `http://${cfg.healthzBindAddress}:${port}`, endpoints: '/healthz /pods /metrics /metrics/probes /events /containerLogs /run /exec /attach /portForward' });
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          logger.info('shutting down; pods keep running and are adopted at the next start', { signal: sig });
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await kubelet.stop();
      await server.close();
      runtime.close();
    });
}
