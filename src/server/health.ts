import type { BackendState, Settings, SourceState, SourceStatus } from '../wire/protocol.js';
import type { RelayStats } from './relay.js';
import type { IgtlServerStats } from './igtl.js';
import type { ProblemKind } from '../igtl/parser.js';

/** The body of `/healthz`: what a probe, a dashboard or a person needs to know at a glance. */
export interface Health extends RelayStats {
  /** ok: video in and masks out; starting; degraded: one of them is restarting/stalled/ended; error. */
  status: 'ok' | 'starting' | 'degraded' | 'error';
  backend: string;
  model: string;
  backendState: BackendState;
  backendDetail?: string;
  source: SourceStatus;
  /** Frames the worker never took because a newer one came first (by design, not a fault). */
  framesNotSegmented: number;
  workerRestarts: number;
  clients: number;
  settings: Settings;
  uptimeS: number;
  /** With --igtl-port: the OpenIGTLink server's clients and messages. */
  igtl?: IgtlServerStats;
  /** With an igtl:// source: images taken, and messages refused or skipped by kind. */
  igtlSource?: { images: number; problems: Record<ProblemKind, number> };
}

export function overallStatus(source: SourceState, backend: BackendState): Health['status'] {
  if (source === 'error' || backend === 'error') return 'error';
  if (source === 'starting' || backend === 'starting') return 'starting';
  return source === 'running' && backend === 'running' ? 'ok' : 'degraded';
}
