import { parentPort, workerData } from 'node:worker_threads';
import { boneEvidence, type EvidenceParams } from '../physics/evidence.js';
import type { EvidenceReply, EvidenceRequest } from './evidence-thread.js';

/**
 * The thread of EvidenceThread (evidence-thread.ts): each frame it is sent, its evidence map,
 * sent back with its arrays handed over rather than copied.
 */
const port = parentPort!;
const params = workerData as EvidenceParams;

port.on('message', ({ id, image }: EvidenceRequest) => {
  const evidence = boneEvidence(image, params);
  port.postMessage({ id, evidence } satisfies EvidenceReply, [evidence.map.buffer as ArrayBuffer, evidence.image.data.buffer as ArrayBuffer]);
});
