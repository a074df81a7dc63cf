// Why the node is not ready, as the kubelet's runtimeState says it (models pkg/kubelet/runtime.go:
// runtimeErrors / networkErrors, and kubelet.go updateRuntimeUp's "container runtime not ready: ..."
// and "container runtime network not ready: ..." texts). Pure: the caller passes what it knows.
//
// The result is the list of leaf messages the Ready condition aggregates, in upstream order.

/** baseRuntimeSyncThreshold: the runtime is "down" when its last good Status is older. */
export const baseRuntimeSyncThresholdMs = 2 * 60_000;

/** A CRI runtime condition (RuntimeReady, NetworkReady). */
export interface RuntimeConditionLike {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

/** kubecontainer.RuntimeCondition.String(): "NetworkReady=false reason:X message:Y"; nil prints "<nil>". */
export function runtimeConditionString(c: RuntimeConditionLike | undefined): string {
  return c ? `${c.type}=${c.status} reason:${c.reason} message:${c.message}` : '<nil>';
}

export interface RuntimeStateInput {
  now: number;
  /** When updateRuntimeUp last saw a ready runtime (undefined: never). */
  lastBaseRuntimeSync: number | undefined;
  thresholdMs?: number;
  /** Failed health checks by name ("PLEG") with their error text. */
  healthChecks?: readonly { name: string; ok: boolean; message: string }[];
  /** The RuntimeReady condition of the last Status (undefined when absent). Omit to skip the check. */
  runtimeReady?: RuntimeConditionLike | null;
  /** The NetworkReady condition of the last Status. Omit to skip the check. */
  networkReady?: RuntimeConditionLike | null;
}

/** runtimeErrors() then networkErrors() as leaf messages. */
export function runtimeStateErrors(s: RuntimeStateInput): string[] {
  const out: string[] = [];
  if (s.lastBaseRuntimeSync === undefined) out.push('container runtime status check may not have completed yet');
  else if (!(s.lastBaseRuntimeSync + (s.thresholdMs ?? baseRuntimeSyncThresholdMs) > s.now)) out.push('container runtime is down');
  for (const hc of s.healthChecks ?? []) if (!hc.ok) out.push(`${hc.name} is not healthy: ${hc.message}`);
  if (s.runtimeReady !== undefined && (s.runtimeReady === null || !s.runtimeReady.status)) {
    out.push(`container runtime not ready: ${runtimeConditionString(s.runtimeReady ?? undefined)}`);
  }
  if (s.networkReady !== undefined && (s.networkReady === null || !s.networkReady.status)) {
    out.push(`container runtime network not ready: ${runtimeConditionString(s.networkReady ?? undefined)}`);
  }
  return out;
}
