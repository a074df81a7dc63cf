// api: pure helpers on Kubernetes objects (quantities, pod defaults and validation, QoS, hashes,
// $(VAR) expansion, field paths, pod annotations). No I/O, no clock.
export { parseQuantity, parseQuantityExact, cpuMillis, memoryBytes, compareQuantities, isPositiveQuantity, isIntegerQuantity, roundUpToMilli, QuantitySum, type ParsedQuantity } from './quantity.js';
export { setPodDefaults, volumeSources, DefaultTerminationGracePeriodSeconds, DefaultSchedulerName, DefaultTerminationMessagePath } from './defaults.js';
export { validatePod, validatePodOrThrow, isDNS1123Label, isDNS1123Subdomain, isValidPortName, type FieldError } from './validation.js';
export { getPodQOSClass, computePodQOSClass, type PodQOSClass } from './qos.js';
export { hashContainer, deepHash, canonicalJSON, canonicalJSONOmitEmpty, fnv1a32 } from './hash.js';
export { expand, mappingFuncFor, envVarsToMap, expandEnvValues, expandContainerCommandAndArgs, type ExpansionMapping } from './expansion.js';
export { extractFieldPathAsString, formatMap } from './fieldpath.js';
export * from './podutil.js';
