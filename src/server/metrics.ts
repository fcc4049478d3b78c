import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { BACKEND_STATES, SOURCE_STATES, type SourceState, type BackendState } from '../wire/protocol.js';

/**
 * The service's Prometheus metrics, in a registry of its own (several servers may run in
 * one process, as in the tests) with the process defaults (RSS, event-loop lag) included.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bonestream_' });
  const m = {
    registry,
    framesIn: new Counter({ name: 'bonestream_frames_in_total', help: 'Frames decoded from the source', registers: [registry] }),
    masksOut: new Counter({ name: 'bonestream_masks_out_total', help: 'Masks computed and broadcast', registers: [registry] }),
    framesSkipped: new Counter({
      name: 'bonestream_frames_not_segmented_total',
      help: 'Decoded frames the inference worker never took because a newer one arrived first',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'bonestream_client_messages_dropped_total',
      help: 'Messages (frame, mask, text, pong) not sent to a client whose send buffer was full (slow consumer)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    closedByServer: new Counter({
      name: 'bonestream_clients_closed_by_server_total',
      help: 'WebSocket clients the server closed itself: not reading, a burst of refused messages, no pong',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    clients: new Gauge({ name: 'bonestream_clients', help: 'Connected WebSocket clients', registers: [registry] }),
    rejected: new Counter({
      name: 'bonestream_rejected_total',
      help: 'Refused HTTP requests and WebSocket upgrades',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    controlMessages: new Counter({
      name: 'bonestream_control_messages_total',
      help: 'Client control messages by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    maskLatency: new Histogram({
      name: 'bonestream_mask_latency_seconds',
      help: "From a frame's arrival to its mask being ready to send",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
      registers: [registry],
    }),
    workerStep: new Histogram({
      name: 'bonestream_worker_step_seconds',
      help: "Time of each step of the inference worker's pipeline per frame: extract (the backend), bank (co-segmentation), surface (the bone-surface stage)",
      labelNames: ['step'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
      registers: [registry],
    }),
    workerRestarts: new Counter({ name: 'bonestream_worker_restarts_total', help: 'Inference worker restarts', registers: [registry] }),
    sourceState: new Gauge({
      name: 'bonestream_source_state',
      help: 'Source state (1 for the current one)',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    backendState: new Gauge({
      name: 'bonestream_backend_state',
      help: 'Inference backend state (1 for the current one)',
      labelNames: ['state', 'backend'] as const,
      registers: [registry],
    }),
  };
  return {
    ...m,
    setSourceState(state: SourceState): void {
      for (const s of SOURCE_STATES) m.sourceState.set({ state: s }, s === state ? 1 : 0);
    },
    setBackendState(state: BackendState, backend: string): void {
      m.backendState.reset();
      for (const s of BACKEND_STATES) m.backendState.set({ state: s, backend }, s === state ? 1 : 0);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
