// The taint eviction controller (upstream pkg/controller/tainteviction): see controller.ts.

export * from './decisions.js';
export { TimedWorkerQueue, type WorkFunc, type WorkInfo } from './timedworkers.js';
export {
  PodGoneError,
  TaintEvictionController,
  TaintEvictionControllerName,
  type PodEventRecorder,
  type PodRef,
  type TaintEvictionClient,
  type TaintEvictionControllerOptions,
} from './controller.js';
export { ApiTaintEvictionClient, apiErrorCode, kubeTaintEvictionClient } from './client.js';
