// Events for the controllers (client-go's EventRecorder as kube-controller-manager's controllers
// use it: source component "node-controller" / "taint-eviction-controller").
//
// Difference from the kubelet's recorder (src/kubelet/events): no correlation (the controllers
// record few events: one per node or pod state change) and the write is a plain create, at most
// `qps` a second (burst `burst`) and dropped beyond a queue of 1000; it never throws and never
// blocks the caller. The controllers do not share code with the kubelet (DESIGN.md), so this is
// the small version of the same edge.

import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { TokenBucket } from '../util/ratelimit.js';

export interface InvolvedObject {
  kind: 'Node' | 'Pod' | 'Lease';
  name: string;
  namespace?: string;
  uid?: string;
  apiVersion?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface ControllerEventRecorder {
  event(obj: InvolvedObject, type: EventType, reason: string, message: string): void;
}

/** Keeps events in memory (tests, benches). */
export class MemoryEventRecorder implements ControllerEventRecorder {
  readonly events: { obj: InvolvedObject; type: EventType; reason: string; message: string }[] = [];
  event(obj: InvolvedObject, type: EventType, reason: string, message: string): void {
    this.events.push({ obj, type, reason, message });
  }
}

export interface ApiEventRecorderOptions {
  kubeConfig: KubeConfig;
  component: string;
  clock: Clock;
  logger?: Logger;
  qps?: number;
  burst?: number;
}

/** Writes events to the API (namespace of the object, "default" for cluster-scoped ones). */
export class ApiEventRecorder implements ControllerEventRecorder {
  private readonly api: CoreV1Api;
  private readonly bucket: TokenBucket;
  private readonly queue: { obj: InvolvedObject; type: EventType; reason: string; message: string; at: number }[] = [];
  private draining = false;
  private seq = 0;
  private readonly log: Logger;

  constructor(private readonly opts: ApiEventRecorderOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.bucket = new TokenBucket(opts.clock, opts.qps ?? 20, opts.burst ?? 30);
    this.log = opts.logger ?? nopLogger;
  }

  event(obj: InvolvedObject, type: EventType, reason: string, message: string): void {
    (type === 'Warning' ? this.log.warn : this.log.info).call(this.log, message, { event: reason, object: `${obj.kind}/${obj.namespace ? `${obj.namespace}/` : ''}${obj.name}` });
    if (this.queue.length >= 1000) return;
    this.queue.push({ obj, type, reason, message, at: this.opts.clock.now() });
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length) {
        if (!this.bucket.tryAccept()) {
          await this.opts.clock.sleep(50);
          continue;
        }
        const e = this.queue.shift()!;
        const namespace = e.obj.namespace ?? 'default';
        const time = new Date(e.at);
        await this.api
          .createNamespacedEvent({
            namespace,
            body: {
              metadata: { name: `${e.obj.name}.${(e.at * 1000 + (this.seq++ % 1000)).toString(16)}`, namespace },
              involvedObject: { kind: e.obj.kind, name: e.obj.name, ...(e.obj.namespace ? { namespace: e.obj.namespace } : {}), ...(e.obj.uid ? { uid: e.obj.uid } : {}), ...(e.obj.apiVersion ? { apiVersion: e.obj.apiVersion } : {}) },
              reason: e.reason,
              message: e.message,
              type: e.type,
              source: { component: this.opts.component },
              reportingComponent: this.opts.component,
              firstTimestamp: time,
              lastTimestamp: time,
              count: 1,
            },
          })
          .catch((err: unknown) => this.log.debug('event not written', { reason: e.reason, err: errorMessage(err) }));
      }
    } finally {
      this.draining = false;
    }
  }
}
