// runtime/cri: a Runtime over CRI v1 gRPC (containerd, CRI-O). See client.ts; container events in events.ts.
export { CriClient, grpcTarget, mapGrpcError, protoPath, type CriClientOptions } from './client.js';
export { containerdEnvelopeToEvent, containerdEventFilters, containerdEventsProtoPath, criEventToContainerEvent } from './events.js';
