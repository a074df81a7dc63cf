// `nodelet controller`: the node lifecycle controller and the taint eviction controller, as
// kube-controller-manager runs them (flags with its names and defaults), under leader election
// with a Lease (--leader-elect, on by default): only the leader acts, and losing the lease stops
// acting at once; the process then campaigns again (upstream exits and is restarted by its
// supervisor; staying up is friendlier outside a static pod and changes nothing in the cluster).
//
// /healthz and /metrics are served on --bind-address:--secure-port over plain HTTP, bound to
// 127.0.0.1 by default (upstream serves HTTPS with delegated authentication on 10257).

import { createServer } from 'node:http';
import type { Command } from 'commander';
import { collectDefaultMetrics } from 'prom-client';
import { loadKubeConfig } from '../kubelet/certificates/index.js';
import { ControllerManager } from '../controller/manager.js';
import { LeaderElector } from '../controller/leaderelection/index.js';
import { ApiEventRecorder } from '../controller/events.js';
import { RealClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { ValidationError } from '../util/errors.js';
import { createLogger, type LogLevel } from '../util/logger.js';
import { newRegistry } from '../util/metrics.js';

export interface ControllerFlags {
  kubeconfig: string;
  leaderElect: string;
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
  leaderElectResourceName: string;
  leaderElectResourceNamespace: string;
  nodeMonitorPeriod: string;
  nodeMonitorGracePeriod: string;
  nodeStartupGracePeriod: string;
  nodeEvictionRate: string;
  secondaryNodeEvictionRate: string;
  largeClusterSizeThreshold: string;
  unhealthyZoneThreshold: string;
  bindAddress: string;
  securePort: string;
  v: string;
  loggingFormat: 'json' | 'text';
}

function num(v: string, field: string, flag: string, integer = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new ValidationError('flags', field, `${flag}: invalid ${integer ? 'integer' : 'number'} "${v}"`);
  return n;
}

/** The node lifecycle settings from the flags (kube-controller-manager's names). */
export function nodeLifecycleSettings(f: ControllerFlags): { nodeMonitorPeriodMs: number; nodeMonitorGracePeriodMs: number; nodeStartupGracePeriodMs: number; evictionRate: number; secondaryEvictionRate: number; largeClusterThreshold: number; unhealthyZoneThreshold: number } {
  return {
    nodeMonitorPeriodMs: parseDuration(f.nodeMonitorPeriod),
    nodeMonitorGracePeriodMs: parseDuration(f.nodeMonitorGracePeriod),
    nodeStartupGracePeriodMs: parseDuration(f.nodeStartupGracePeriod),
    evictionRate: num(f.nodeEvictionRate, 'nodeEvictionRate', '--node-eviction-rate'),
    secondaryEvictionRate: num(f.secondaryNodeEvictionRate, 'secondaryNodeEvictionRate', '--secondary-node-eviction-rate'),
    largeClusterThreshold: num(f.largeClusterSizeThreshold, 'largeClusterSizeThreshold', '--large-cluster-size-threshold', true),
    unhealthyZoneThreshold: num(f.unhealthyZoneThreshold, 'unhealthyZoneThreshold', '--unhealthy-zone-threshold'),
  };
}

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the node lifecycle and taint eviction controllers (kube-controller-manager\'s) against a cluster')
    .requiredOption('--kubeconfig <file>', 'the cluster to manage (credentials allowed to update nodes, pods and leases)')
    .option('--leader-elect <bool>', 'elect a leader with a Lease before acting, so that replicas can run', 'true')
    .option('--leader-elect-lease-duration <duration>', 'how long a non-leader waits after the last observed renewal', '15s')
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader retries renewing before it stops leading', '10s')
    .option('--leader-elect-retry-period <duration>', 'how long to wait between tries', '2s')
    .option('--leader-elect-resource-name <name>', 'the Lease', 'kube-controller-manager')
    .option('--leader-elect-resource-namespace <ns>', 'its namespace', 'kube-system')
    .option('--node-monitor-period <duration>', 'how often node health is checked', '5s')
    .option('--node-monitor-grace-period <duration>', 'how long a node may be silent before it is Unknown (40s accepted, as before upstream 1.32)', '50s')
    .option('--node-startup-grace-period <duration>', 'the same for a node that never reported', '1m0s')
    .option('--node-eviction-rate <qps>', 'NoExecute taints per second in a healthy zone', '0.1')
    .option('--secondary-node-eviction-rate <qps>', 'the same in a partially disrupted large zone', '0.01')
    .option('--large-cluster-size-threshold <n>', 'zones with more nodes use the secondary rate when partially disrupted (else 0)', '50')
    .option('--unhealthy-zone-threshold <fraction>', 'share of not-Ready nodes (at least 3) that makes a zone partially disrupted', '0.55')
    .option('--bind-address <ip>', 'address of /healthz and /metrics', '127.0.0.1')
    .option('--secure-port <port>', 'port of /healthz and /metrics (0: none)', '10257')
    .option('--v <level>', 'log verbosity: 0 info, 4+ debug', '0')
    .option('--logging-format <format>', 'json or text', 'json')
    .action(async (flags: ControllerFlags) => {
      const logger = createLogger({ level: (Number(flags.v) >= 4 ? 'debug' : 'info') as LogLevel, format: flags.loggingFormat });
      const clock = new RealClock();
      const registry = newRegistry();
      collectDefaultMetrics({ register: registry });
      const settings = nodeLifecycleSettings(flags);
      const kubeConfig = loadKubeConfig(flags.kubeconfig);
      if (flags.leaderElect !== 'true' && flags.leaderElect !== 'false') throw new ValidationError('flags', 'leaderElect', `--leader-elect: must be true or false, got "${flags.leaderElect}"`);
      let manager: ControllerManager | undefined;
      const startControllers = async (signal?: AbortSignal): Promise<void> => {
        manager = new ControllerManager({ kubeConfig, clock, logger, registry, nodeLifecycle: settings });
        await manager.start(signal);
      };
      const stopControllers = async (): Promise<void> => {
        const m = manager;
        manager = undefined;
        await m?.stop();
      };

      let elector: LeaderElector | undefined;
      const port = Number(flags.securePort);
      const server = port
        ? createServer((req, res) => {
            if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) {
              const err = elector?.check(20_000);
              res.writeHead(err ? 500 : 200, { 'Content-Type': 'text/plain' });
              res.end(err ? `leaderElection check failed: ${err.message}\n` : 'ok');
            } else if (req.url === '/metrics') {
              void registry.metrics().then((text) => {
                res.writeHead(200, { 'Content-Type': registry.contentType });
                res.end(text);
              });
            } else {
              res.writeHead(404);
              res.end('404 page not found\n');
            }
          })
        : undefined;
      if (server) await new Promise<void>((r) => server.listen(port, flags.bindAddress, () => r()));

      let stopping = false;
      const done = new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          logger.info('shutting down', { signal: sig });
          stopping = true;
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });

      if (flags.leaderElect === 'true') {
        const campaign = async (): Promise<void> => {
          while (!stopping) {
            elector = new LeaderElector({
              kubeConfig,
              clock,
              logger,
              registry,
              leaseName: flags.leaderElectResourceName,
              leaseNamespace: flags.leaderElectResourceNamespace,
              leaseDurationMs: parseDuration(flags.leaderElectLeaseDuration),
              renewDeadlineMs: parseDuration(flags.leaderElectRenewDeadline),
              retryPeriodMs: parseDuration(flags.leaderElectRetryPeriod),
              recorder: new ApiEventRecorder({ kubeConfig, component: 'kube-controller-manager', clock, logger }),
              onStartedLeading: async (signal) => {
                logger.info('became leader: starting the controllers', { identity: elector?.identity });
                await startControllers(signal);
                await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
                await stopControllers();
              },
              onStoppedLeading: () => {
                logger.info('stopped leading: controllers stopped', { identity: elector?.identity });
                void stopControllers();
              },
            });
            await elector.run();
          }
        };
        void campaign();
      } else {
        await startControllers();
      }
      await done;
      await elector?.stop();
      await stopControllers();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    });
}
