// The kubelet's cluster-mode event recorder (models pkg/kubelet/kubelet.go makeEventRecorder:
// record.NewBroadcaster(), StartStructuredLogging, StartRecordingToSink(EventSinkImpl over the
// event client), NewRecorder(scheme, EventSource{Component: "kubelet", Host: nodeName}); and
// recorderImpl.generateEvent / makeEvent of client-go tools/record/event.go).
//
// event() records into the LocalEventStore (which also logs the event, as StartStructuredLogging
// does) and queues an Event for the API: source {component: kubelet, host: node name},
// reportingComponent kubelet, reportingInstance node name, count 1, first = last timestamp = now,
// named `<object name>.<hex ns>`, in the object's namespace ("default" for the Node). The Node's
// events use the node name as involvedObject.uid, as the kubelet's nodeRef does (UID:
// types.UID(nodeName)); a Node ref without uid gets it filled in that way.
//
// Differences: the local store sees every event (before spam filtering and aggregation), since
// `nodelet describe` reads it; the API sees what upstream would send.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { ApiEventSink, defaultEventBurst, defaultEventRecordQPS, type EventSink } from './apisink.js';
import { EventBroadcaster, type BroadcasterStats } from './broadcaster.js';
import { EventCorrelator, makeEvent, UniqueNanos, type CorrelatorOptions } from './correlator.js';
import type { EventRecorder, EventType, LocalEventStore, ObjectRef } from './recorder.js';

export const kubeletComponent = 'kubelet';

export interface ClusterEventRecorderOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  clock: Clock;
  logger?: Logger;
  /** Also record here (nodelet describe, local /events). */
  local?: LocalEventStore;
  /** eventRecordQPS (default 50; 0 = no limit). */
  qps?: number;
  /** eventBurst (default 100). */
  burst?: number;
  /** Source component (default "kubelet"). */
  component?: string;
  /** Broadcaster tuning (defaults as upstream: queue 1000, 12 tries, 10 s). */
  maxQueued?: number;
  maxTries?: number;
  sleepMs?: number;
  random?: () => number;
  requestTimeoutMs?: number;
  /** Correlator tuning (tests). */
  correlator?: Omit<CorrelatorOptions, 'clock' | 'nanos'>;
  /** Replaces the API sink (tests). */
  sink?: EventSink;
}

export interface ClusterEventRecorder extends EventRecorder {
  /** Resolves once every queued event is written or given up. */
  flush(): Promise<void>;
  /** Stops writing to the API (queued events are dropped); local recording goes on. */
  stop(): Promise<void>;
  stats(): BroadcasterStats;
}

const validTypes = new Set<string>(['Normal', 'Warning']);

export function newClusterEventRecorder(opts: ClusterEventRecorderOptions): ClusterEventRecorder {
  const log = (opts.logger ?? nopLogger).child({ component: 'events' });
  const nanos = new UniqueNanos();
  const source = { component: opts.component ?? kubeletComponent, host: opts.nodeName };
  const sink =
    opts.sink ??
    new ApiEventSink({
      kubeConfig: opts.kubeConfig,
      clock: opts.clock,
      qps: opts.qps ?? defaultEventRecordQPS,
      burst: opts.burst ?? defaultEventBurst,
      ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    });
  const broadcaster = new EventBroadcaster({
    sink,
    clock: opts.clock,
    logger: log,
    correlator: new EventCorrelator({ ...opts.correlator, clock: opts.clock, nanos }),
    ...(opts.maxQueued !== undefined ? { maxQueued: opts.maxQueued } : {}),
    ...(opts.maxTries !== undefined ? { maxTries: opts.maxTries } : {}),
    ...(opts.sleepMs !== undefined ? { sleepMs: opts.sleepMs } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  return {
    event(obj: ObjectRef, type: EventType, reason: string, message: string): void {
      opts.local?.event(obj, type, reason, message);
      if (!validTypes.has(type)) {
        log.error('Unsupported event type', { eventType: type });
        return;
      }
      const ref = obj.kind === 'Node' && !obj.uid ? { ...obj, uid: obj.name } : obj;
      broadcaster.action(makeEvent(ref, type, reason, message, source, opts.clock.now(), nanos));
    },
    flush: () => broadcaster.flush(),
    stop: () => broadcaster.stop(),
    stats: () => broadcaster.stats(),
  };
}
