import type { Server, Socket } from 'node:net';
import type { Gate } from './auth.js';
import type { Metrics } from './metrics.js';
import type { SlotLimits } from '../limits.js';

interface Entry {
  key: string;
  socket: Socket;
  address: string;
  /** Set once a request on this connection passed the gate (token, Host, Origin). */
  admitted: boolean;
}

/**
 * The connection slots of the HTTP(S) server (docs/architecture.md, "Limits"). A connection is pending until a
 * request on it passes the gate; pending ones go first: when every slot is taken, a new
 * connection evicts the oldest pending one (it is refused only when all are admitted), and one
 * address holds at most `maxPendingPerAddress` pending connections. So idle sockets opened
 * before any token check cannot keep clients that hold the token out. Node's own
 * `maxConnections` would refuse the newcomer instead, whoever it is.
 */
export class ConnectionSlots {
  /** In arrival order (a Map iterates in insertion order), so the first pending one is the oldest. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limits: SlotLimits,
    private readonly metrics: Metrics,
  ) {}

  /** Counts the server's TCP connections (for TLS, the sockets under the TLS layer). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  /** `gate`, which also marks the connection of each request it lets through as admitted. */
  marking(gate: Gate): Gate {
    return (request, url, upgrade) => {
      const refused = gate(request, url, upgrade);
      const entry = refused ? undefined : this.entries.get(keyOf(request.socket));
      if (entry) entry.admitted = true;
      return refused;
    };
  }

  private onConnection(socket: Socket): void {
    const key = keyOf(socket);
    const address = socket.remoteAddress ?? '';
    this.entries.set(key, { key, socket, address, admitted: false });
    socket.once('close', () => this.entries.delete(key));
    const pendingHere = [...this.entries.values()].filter((entry) => !entry.admitted && entry.address === address);
    if (pendingHere.length > this.limits.maxPendingPerAddress) this.evict(pendingHere[0], 'pending-per-address');
    if (this.entries.size <= this.limits.maxConnections) return;
    const oldestPending = [...this.entries.values()].find((entry) => !entry.admitted && entry.socket !== socket);
    this.evict(oldestPending ?? this.entries.get(key)!, oldestPending ? 'evicted' : 'connections');
  }

  private evict(entry: Entry, reason: string): void {
    this.entries.delete(entry.key);
    this.metrics.rejected.inc({ reason });
    entry.socket.destroy();
  }
}

/** One live TCP connection; the same for a TLS socket and the socket under it. */
function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}
