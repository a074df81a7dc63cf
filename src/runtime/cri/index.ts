// runtime/cri: a Runtime over CRI v1 gRPC (containerd, CRI-O). See client.ts.
export { CriClient, grpcTarget, mapGrpcError, protoPath, type CriClientOptions } from './client.js';
