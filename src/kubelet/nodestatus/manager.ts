// NodeStatusManager: registers the Node and keeps its status current (models
// pkg/kubelet/kubelet_node_status.go: registerWithAPIServer, tryRegisterWithAPIServer,
// syncNodeStatus, updateNodeStatus, tryUpdateNodeStatus, patchNodeStatus, fastStatusUpdateOnce;
// kubelet.go BirthCry "Starting kubelet.").
//
// Registration: create the Node built by initialNode; on AlreadyExists read it and reconcile the
// kubelet-owned default labels and the attach-detach annotation (other labels are kept, taints are
// not touched: upstream applies --register-with-taints only at creation); retried every 100 ms
// doubling to 7 s until it succeeds. Then every nodeStatusUpdateFrequency (10 s): read the Node,
// run the setters, and patch nodes/<name>/status (strategic merge) only when the status changed
// (heartbeat times aside) or nodeStatusReportFrequency (5 m) passed since the last post; up to
// nodeStatusUpdateRetry (5) attempts, each with a fresh read.
//
// Differences: the metadata reconciliation is a JSON merge patch of nodes/<name> (the status
// subresource keeps metadata apart); events from the setters are recorded once the status they
// describe reached the API server (upstream records them while computing, so a failed post can
// repeat them); the loop has no 4 % jitter; every request has the heartbeat client's deadline
// (the update frequency) on the injected Clock; fastStatusUpdate() posts at once (upstream polls
// for readiness at start).

import { CoreV1Api, PatchStrategy, setHeaderOptions, type ConfigurationOptions, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { nopRecorder, type EventRecorder, type ObjectRef } from '../events/index.js';
import { apiErrorMessage, isAlreadyExists, withDeadline } from '../../util/apicall.js';
import {
  initialNode,
  nodeStatusHasChanged,
  nodeStatusPatch,
  reconcileMetadata,
  setNodeStatus,
  shouldPatchNodeStatus,
  type NodeSettings,
  type NodeStatusEvent,
  type StatusInputs,
} from './setters.js';

export const nodeStatusUpdateFrequencyMs = 10_000;
export const nodeStatusReportFrequencyMs = 5 * 60_000;
export const nodeStatusUpdateRetry = 5;
export const registrationInitialBackoffMs = 100;
export const registrationMaxBackoffMs = 7_000;

/** What the status setters read, gathered fresh on every pass. */
export interface NodeStatusSources {
  inputs(): Promise<StatusInputs>;
}

export interface NodeStatusManagerOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  settings: NodeSettings;
  sources: NodeStatusSources;
  logger?: Logger;
  recorder?: EventRecorder;
  /** --register-node (default true). */
  registerNode?: boolean;
  updateFrequencyMs?: number;
  reportFrequencyMs?: number;
  /** Per-request deadline (default: the update frequency, as the heartbeat client). */
  requestTimeoutMs?: number;
  /** Record "Starting" ("Starting kubelet.") when started (default true). */
  birthCry?: boolean;
  /** Called on a repeated failure within one update (upstream closes the client's connections). */
  onRepeatedHeartbeatFailure?: () => void;
}

export class NodeStatusManager {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventRecorder;
  private readonly api: CoreV1Api;
  private readonly nodeRef: ObjectRef;
  private readonly updateMs: number;
  private readonly reportMs: number;
  private readonly timeoutMs: number;
  private registered = false;
  private lastStatusReportTime: number | undefined;
  private running = false;
  private timer: Timer | undefined;
  private stopAc = new AbortController();
  private inFlight: Promise<void> | undefined;
  private again = false;
  private loopDone: Promise<void> | undefined;
  private lastNode: V1Node | undefined;

  constructor(private readonly opts: NodeStatusManagerOptions) {
    this.clock = opts.clock;
    this.log = (opts.logger ?? nopLogger).child({ component: 'nodestatus' });
    this.recorder = opts.recorder ?? nopRecorder;
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.nodeRef = { kind: 'Node', name: opts.settings.nodeName, uid: opts.settings.nodeName };
    this.updateMs = opts.updateFrequencyMs ?? nodeStatusUpdateFrequencyMs;
    this.reportMs = opts.reportFrequencyMs ?? nodeStatusReportFrequencyMs;
    this.timeoutMs = opts.requestTimeoutMs ?? this.updateMs;
  }

  /** True once the Node exists in the API (registered or found). */
  isRegistered(): boolean {
    return this.registered;
  }

  /** The Node as last read or written. */
  node(): V1Node | undefined {
    return this.lastNode;
  }

  /** Starts registration then the status loop (syncNodeStatus every update frequency). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopAc = new AbortController();
    if (this.opts.birthCry ?? true) this.recorder.event(this.nodeRef, 'Normal', 'Starting', 'Starting kubelet.');
    this.loopDone = this.tick();
  }

  /** Stops the loop; resolves when the pass under way has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.timer?.stop();
    this.timer = undefined;
    this.stopAc.abort(new Error('node status manager stopped'));
    await this.loopDone;
    await this.inFlight;
  }

  /** Posts the status now (e.g. when Ready flips); shares a pass under way and runs one more after it. */
  fastStatusUpdate(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    return this.syncNodeStatus();
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    const started = this.clock.now();
    await this.syncNodeStatus();
    if (!this.running) return;
    // Fixed period from start to start (JitterUntil, sliding=false); a long pass starts the next at once.
    const wait = Math.max(0, started + this.updateMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.loopDone = this.tick();
    }, wait);
  }

  /** syncNodeStatus: register if needed, then update the status. Never rejects. */
  syncNodeStatus(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        if ((this.opts.registerNode ?? true) && !this.registered) await this.registerWithAPIServer();
        if (this.stopAc.signal.aborted) return;
        await this.updateNodeStatus();
      } while (this.again && !this.stopAc.signal.aborted);
    };
    this.inFlight = run()
      .catch((e: unknown) => this.log.error('Node status sync failed', { err: apiErrorMessage(e) }))
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** registerWithAPIServer: until registered (or stopped), sleep (100 ms doubling to 7 s) and try. */
  async registerWithAPIServer(): Promise<void> {
    let step = registrationInitialBackoffMs;
    while (!this.registered) {
      try {
        await this.clock.sleep(step, this.stopAc.signal);
      } catch {
        return;
      }
      step = Math.min(step * 2, registrationMaxBackoffMs);
      let built: { node: V1Node; events: NodeStatusEvent[] };
      try {
        built = initialNode(this.opts.settings, await this.opts.sources.inputs(), this.clock.now());
      } catch (e) {
        this.log.error('Unable to construct v1.Node object for kubelet', { err: apiErrorMessage(e) });
        continue;
      }
      this.log.info('Attempting to register node', { node: this.opts.settings.nodeName });
      if (await this.tryRegisterWithAPIServer(built.node)) {
        this.log.info('Successfully registered node', { node: this.opts.settings.nodeName });
        this.registered = true;
        this.recordEvents(built.events);
      }
    }
  }

  private async tryRegisterWithAPIServer(node: V1Node): Promise<boolean> {
    const name = this.opts.settings.nodeName;
    try {
      this.lastNode = await this.call((o) => this.api.createNode({ body: node }, o));
      return true;
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.log.error('Unable to register node with API server', { node: name, err: apiErrorMessage(e) });
        return false;
      }
    }
    let existing: V1Node;
    try {
      existing = await this.call((o) => this.api.readNode({ name }, o));
    } catch (e) {
      this.log.error('Unable to register node with API server, error getting existing node', { node: name, err: apiErrorMessage(e) });
      return false;
    }
    this.log.info('Node was previously registered', { node: name });
    const meta = reconcileMetadata(node, existing);
    if (meta) {
      try {
        existing = await this.call((o) => this.api.patchNode({ name, body: { metadata: meta } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch, o)));
      } catch (e) {
        this.log.error('Unable to reconcile node with API server, error updating node', { node: name, err: apiErrorMessage(e) });
        return false;
      }
    }
    this.lastNode = existing;
    return true;
  }

  /** updateNodeStatus: up to nodeStatusUpdateRetry attempts. */
  async updateNodeStatus(): Promise<void> {
    for (let i = 0; i < nodeStatusUpdateRetry; i++) {
      if (this.stopAc.signal.aborted) return;
      try {
        await this.tryUpdateNodeStatus();
        return;
      } catch (e) {
        if (i > 0) this.opts.onRepeatedHeartbeatFailure?.();
        this.log.error('Error updating node status, will retry', { err: apiErrorMessage(e) });
      }
    }
    this.log.error('Unable to update node status', { err: 'update node status exceeds retry count' });
  }

  private async tryUpdateNodeStatus(): Promise<void> {
    const name = this.opts.settings.nodeName;
    const original = await this.call((o) => this.api.readNode({ name }, o));
    const node = structuredClone(original) as V1Node;
    const inputs = await this.opts.sources.inputs();
    const now = this.clock.now();
    const events = setNodeStatus(node, this.opts.settings, inputs, now);
    const changed = nodeStatusHasChanged(original.status, node.status);
    if (!shouldPatchNodeStatus(changed, this.lastStatusReportTime, now, this.reportMs)) {
      this.lastNode = original;
      return;
    }
    const patch = nodeStatusPatch(original, node);
    this.lastNode = await this.call((o) => this.api.patchNodeStatus({ name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, o)));
    this.lastStatusReportTime = now;
    this.recordEvents(events);
  }

  private recordEvents(events: readonly NodeStatusEvent[]): void {
    for (const e of events) {
      if (e.reason === 'NodeNotReady') this.log.info('Node became not ready', { node: this.opts.settings.nodeName });
      this.recorder.event(this.nodeRef, e.type, e.reason, e.message);
    }
  }

  private call<T>(fn: (o: ConfigurationOptions) => Promise<T>): Promise<T> {
    return withDeadline(this.clock, this.timeoutMs, this.stopAc.signal, fn);
  }
}
