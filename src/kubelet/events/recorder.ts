// Events (models client-go's record.EventRecorder as the kubelet uses it): Normal/Warning events
// with the kubelet's reasons (Pulling, Pulled, Created, Started, Killing, BackOff, Failed, ...).
//
// Standalone mode keeps them in a bounded in-memory ring, aggregated like the API server's
// event series (same object + reason + message -> count and lastTimestamp updated), which
// `nodelet describe pod` and /events read. Cluster mode adds the API sink behind the same
// EventRecorder interface (cluster.ts: newClusterEventRecorder records here and to the API).

import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';

export type EventType = 'Normal' | 'Warning';

export interface ObjectRef {
  kind: 'Pod' | 'Node';
  name: string;
  namespace?: string;
  uid?: string;
  /** e.g. `spec.containers{web}` for an event about one container. */
  fieldPath?: string;
  /** involvedObject.apiVersion in the API (default: v1 for a Pod, none for the Node, as upstream's refs). */
  apiVersion?: string;
  /** involvedObject.resourceVersion in the API (upstream's ref.GetReference copies the object's). */
  resourceVersion?: string;
}

export interface RecordedEvent {
  involvedObject: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: number;
  lastTimestamp: number;
}

export interface EventRecorder {
  event(obj: ObjectRef, type: EventType, reason: string, message: string): void;
}

export class LocalEventStore implements EventRecorder {
  private readonly events: RecordedEvent[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly capacity = 1000,
  ) {}

  event(obj: ObjectRef, type: EventType, reason: string, message: string): void {
    const now = this.clock.now();
    const same = this.events.find(
      (e) => e.involvedObject.uid === obj.uid && e.involvedObject.name === obj.name && e.involvedObject.fieldPath === obj.fieldPath && e.reason === reason && e.message === message,
    );
    (type === 'Warning' ? this.logger.warn : this.logger.info).call(this.logger, message, {
      event: reason,
      object: `${obj.kind}/${obj.namespace ? obj.namespace + '/' : ''}${obj.name}`,
      ...(obj.fieldPath ? { fieldPath: obj.fieldPath } : {}),
    });
    if (same) {
      same.count++;
      same.lastTimestamp = now;
      return;
    }
    this.events.push({ involvedObject: { ...obj }, type, reason, message, count: 1, firstTimestamp: now, lastTimestamp: now });
    if (this.events.length > this.capacity) this.events.shift();
  }

  /** Events about one object (by uid, else namespace/name), oldest first. */
  list(filter?: { uid?: string; name?: string; namespace?: string }): RecordedEvent[] {
    return this.events
      .filter((e) => {
        if (!filter) return true;
        if (filter.uid && e.involvedObject.uid !== filter.uid) return false;
        if (filter.name && e.involvedObject.name !== filter.name) return false;
        if (filter.namespace && e.involvedObject.namespace !== filter.namespace) return false;
        return true;
      })
      .sort((a, b) => a.lastTimestamp - b.lastTimestamp);
  }
}

export const nopRecorder: EventRecorder = { event: () => {} };
