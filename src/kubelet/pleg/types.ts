// PLEG event types (models the kubelet's pkg/kubelet/pleg/pleg.go).
//
// Differences from upstream: the event's pod is its UID string and data is always a string (the
// container or sandbox ID; '' for PodSync); ConditionMet and pod watch conditions are not modelled.

export type PodLifecycleEventType = 'ContainerStarted' | 'ContainerDied' | 'ContainerRemoved' | 'PodSync' | 'ContainerChanged';

export interface PodLifecycleEvent {
  podUid: string;
  type: PodLifecycleEventType;
  /** The container (or sandbox) ID the event is about. */
  data: string;
}

export interface PlegHealth {
  ok: boolean;
  /** Why the PLEG is unhealthy ('' when healthy), with upstream's wording. */
  message: string;
}

/** What the syncLoop and the runtime health check need of a PLEG (upstream's PodLifecycleEventGenerator). */
export interface PodLifecycleEventGenerator {
  start(): void;
  /** Stops the periodic relist; resolves once a relist in flight has finished. */
  stop(): Promise<void>;
  /** Subscribes to events; returns the function that unsubscribes. */
  watch(cb: (e: PodLifecycleEvent) => void): () => void;
  healthy(): PlegHealth;
}
