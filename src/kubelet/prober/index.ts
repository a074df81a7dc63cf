// prober: probe workers, the results managers and the probe handlers (models pkg/kubelet/prober
// and pkg/probe). See manager.ts for the interface the kubelet uses.
export { ProbeManager, type ProbeManagerDeps, type ProbeUpdate } from './manager.js';
export { type ContainerInfo } from './worker.js';
export { ResultsManager, type ProbeResult, type ResultUpdate } from './results.js';
export { Prober, probeTypeName, type ProbeType, type ProbeOutcome, type ProbeTarget } from './prober.js';
export { renderProbeMetrics, probeMetricsContentType, proberMetrics, type ProberMetrics } from './metrics.js';
