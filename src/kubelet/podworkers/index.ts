// podworkers: one serialized worker per pod (sync -> terminating -> terminated).
export { PodWorkers, type PodSyncer, type UpdatePodOptions, type UpdateType, type WorkerPhase, type SyncResult, type KillPodOptions, type RequeueReason, type PodWorkerInfo } from './podworkers.js';
