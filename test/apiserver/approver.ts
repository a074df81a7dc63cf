// A CSR approver for tests: decides every new CertificateSigningRequest as an admin would
// (kube-controller-manager's csrapproving controller, or `kubectl certificate approve`), until
// stopped. The fixture then signs approved requests with its test CA.
import { setTimeout as delay } from 'node:timers/promises';
import { CertificatesV1Api, type V1CertificateSigningRequest } from '@kubernetes/client-node';
import type { TestApiServer } from './server.js';

export interface Approver {
  /** Every request decided so far, as read before the decision. */
  seen: V1CertificateSigningRequest[];
  stop(): void;
}

export function startApprover(s: TestApiServer, decision: 'Approved' | 'Denied' = 'Approved'): Approver {
  const admin = s.kubeconfig().makeApiClient(CertificatesV1Api);
  const seen: V1CertificateSigningRequest[] = [];
  const done = new Set<string>();
  let stopped = false;
  void (async () => {
    while (!stopped) {
      for (const c of s.list('certificatesigningrequests')) {
        const name = c.metadata!.name!;
        if (done.has(name)) continue;
        done.add(name);
        try {
          const cur = await admin.readCertificateSigningRequest({ name });
          seen.push(cur);
          cur.status = { conditions: [{ type: decision, status: 'True', reason: 'TestDecision', message: `${decision.toLowerCase()} by the test` }] };
          await admin.replaceCertificateSigningRequestApproval({ name, body: cur });
        } catch (err) {
          if (!stopped) throw err;
        }
      }
      await delay(10);
    }
  })();
  return { seen, stop: () => (stopped = true) };
}
