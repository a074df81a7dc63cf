// Runs one probe of a container (models pkg/kubelet/prober/prober.go: probe, runProbeWithRetries,
// runProbe) over the handlers of pkg/probe (./exec.ts, ./http.ts, ./tcp.ts, ./grpc.ts).
//
// - exec: the command with `$(VAR)` expanded from the container's literal env values only
//   (ExpandContainerCommandOnlyStatic), through CRI ExecSync with the probe's timeoutSeconds;
// - httpGet / tcpSocket: host defaults to the pod IP, port by number or by named container port;
// - grpc: the pod IP and the probe's port and service.
// A handler that could not run (an exec the runtime refused, a port name that does not resolve)
// is retried up to 3 times at once, as upstream; if it still errors the outcome is Unknown: the
// worker throws it away, as upstream's worker does with a prober error. A Warning counts as
// Success. Events as the kubelet's: `Unhealthy` "Liveness probe failed: <output>" / "... probe
// errored: <error>", and `ProbeWarning` "Readiness probe warning: <output>", on the container.
//
// Differences: an errored probe is reported as result Unknown instead of (Failure, err).

import type { V1Container, V1HTTPGetAction, V1Pod, V1Probe } from '@kubernetes/client-node';
import { envVarsToMap, expand } from '../../api/expansion.js';
import type { Runtime } from '../../runtime/types.js';
import type { Clock } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { EventRecorder, ObjectRef } from '../events/index.js';
import { execProbe } from './exec.js';
import { grpcProbe } from './grpc.js';
import { httpProbe, newRequestForHTTPGetAction, type HTTPProbeRequest } from './http.js';
import { messageOf, resolveContainerPort, type HandlerOutcome } from './probe.js';
import type { ProbeResult } from './results.js';
import { tcpProbe } from './tcp.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';

/** probeType.String(): the name in events, logs and the probe_type metric label. */
export const probeTypeName: Record<ProbeType, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

/** What one probe run concluded. `Unknown`: the probe could not be run (output says why). */
export interface ProbeOutcome {
  result: ProbeResult;
  output: string;
  /** A success with a warning (a redirect to another host that was not followed). */
  warning?: boolean;
}

export interface ProbeTarget {
  pod: V1Pod;
  container: V1Container;
  containerId: string;
  /** The pod's IP: the default host of httpGet and tcpSocket probes, the host of grpc probes. */
  podIP: string;
}

export interface ProberDeps {
  runtime: Pick<Runtime, 'execSync'>;
  clock: Clock;
  logger?: Logger;
  recorder?: EventRecorder;
}

const maxProbeRetries = 3;

export function probeSpec(container: V1Container, probeType: ProbeType): V1Probe | undefined {
  switch (probeType) {
    case 'liveness':
      return container.livenessProbe;
    case 'readiness':
      return container.readinessProbe;
    case 'startup':
      return container.startupProbe;
  }
}

export class Prober {
  private readonly log: Logger;
  /** The request an httpGet probe sends, built once per (probe, container, pod IP). */
  private readonly httpRequests = new WeakMap<V1HTTPGetAction, { container: V1Container; podIP: string; req: HTTPProbeRequest }>();

  constructor(private readonly deps: ProberDeps) {
    this.log = deps.logger ?? nopLogger;
  }

  /** Probes a container once with its probe of the given type (upstream prober.probe). */
  async probe(probeType: ProbeType, target: ProbeTarget): Promise<ProbeOutcome> {
    const spec = probeSpec(target.container, probeType);
    const name = probeTypeName[probeType];
    const fields = { probeType: name, pod: `${target.pod.metadata?.namespace ?? ''}/${target.pod.metadata?.name ?? ''}`, podUID: target.pod.metadata?.uid, containerName: target.container.name };
    if (!spec) {
      this.log.info('Probe is nil', fields);
      return { result: 'Success', output: '' };
    }
    let out: HandlerOutcome = { result: 'Unknown', output: '' };
    for (let i = 0; i < maxProbeRetries; i++) {
      out = await this.runProbe(spec, target);
      if (!out.error) break;
    }
    if (out.error) {
      this.log.debug('Probe errored', { ...fields, err: out.error });
      this.event(target, 'Unhealthy', `${name} probe errored: ${out.error.message}`);
      return { result: 'Unknown', output: out.error.message };
    }
    if (out.result !== 'Success' && out.result !== 'Warning') {
      this.log.debug('Probe failed', { ...fields, probeResult: out.result, output: out.output });
      this.event(target, 'Unhealthy', `${name} probe failed: ${out.output}`);
      return { result: 'Failure', output: out.output };
    }
    if (out.result === 'Warning') {
      this.event(target, 'ProbeWarning', `${name} probe warning: ${out.output}`);
      this.log.debug('Probe succeeded with a warning', { ...fields, output: out.output });
      return { result: 'Success', output: out.output, warning: true };
    }
    this.log.debug('Probe succeeded', fields);
    return { result: 'Success', output: out.output };
  }

  /** Runs the probe's handler once (upstream runProbe). */
  async runProbe(spec: V1Probe, target: ProbeTarget): Promise<HandlerOutcome> {
    const timeoutSeconds = spec.timeoutSeconds && spec.timeoutSeconds > 0 ? spec.timeoutSeconds : 1;
    const timeoutMs = timeoutSeconds * 1000;
    const { clock } = this.deps;
    try {
      if (spec.exec) {
        const env = envVarsToMap((target.container.env ?? []).map((e) => ({ name: e.name, value: e.value })));
        const command = (spec.exec.command ?? []).map((x) => expand(x, env));
        return await execProbe(this.deps.runtime, target.containerId, command, timeoutSeconds);
      }
      if (spec.httpGet) {
        return await httpProbe(clock, this.httpRequest(spec.httpGet, target), timeoutMs);
      }
      if (spec.tcpSocket) {
        const port = resolveContainerPort(spec.tcpSocket.port, target.container);
        return await tcpProbe(clock, spec.tcpSocket.host || target.podIP, port, timeoutMs);
      }
      if (spec.grpc) {
        return await grpcProbe(clock, target.podIP, spec.grpc.service ?? '', spec.grpc.port, timeoutMs);
      }
    } catch (e) {
      return { result: 'Unknown', output: '', error: e instanceof Error ? e : new Error(messageOf(e)) };
    }
    const pod = `${target.pod.metadata?.name ?? ''}_${target.pod.metadata?.namespace ?? ''}(${target.pod.metadata?.uid ?? ''})`;
    return { result: 'Unknown', output: '', error: new Error(`missing probe handler for ${pod}:${target.container.name}`) };
  }

  private httpRequest(httpGet: V1HTTPGetAction, target: ProbeTarget): HTTPProbeRequest {
    const cached = this.httpRequests.get(httpGet);
    if (cached && cached.container === target.container && cached.podIP === target.podIP) return cached.req;
    const req = newRequestForHTTPGetAction(httpGet, target.container, target.podIP);
    this.httpRequests.set(httpGet, { container: target.container, podIP: target.podIP, req });
    return req;
  }

  private event(target: ProbeTarget, reason: string, message: string): void {
    if (!this.deps.recorder) return;
    const ref: ObjectRef = {
      kind: 'Pod',
      name: target.pod.metadata?.name ?? '',
      namespace: target.pod.metadata?.namespace ?? '',
      uid: target.pod.metadata?.uid ?? '',
      fieldPath: `spec.containers{${target.container.name}}`,
    };
    this.deps.recorder.event(ref, 'Warning', reason, message);
  }
}
