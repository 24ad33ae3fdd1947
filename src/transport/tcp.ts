import net from 'node:net';
import {
  bump,
  deliver,
  newCounters,
  notifyClosed,
  type Connection,
  type ConnectionHandler,
  type ConnectionSink,
  type ListenerLogger,
  type TransportCounters,
} from './types.js';

export interface TcpListenerOptions {
  host: string;
  port: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  idleTimeoutSec: number;
  /** bytes queued for a peer that does not read; beyond it the connection is closed */
  writeBacklogBytes: number;
}

let nextId = 0;

class TcpConnection implements Connection {
  readonly id = `t${++nextId}`;
  readonly transport = 'tcp' as const;
  readonly remote: string;
  readonly remoteAddress: string;
  readonly openedAtMs = Date.now();
  lastSeenMs = this.openedAtMs;
  closed = false;
  sink: ConnectionSink | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly listener: TcpListener,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remote = `${this.remoteAddress}:${socket.remotePort ?? 0}`;
  }

  write(bytes: Buffer): boolean {
    if (this.closed) return false;
    // A peer that stops reading must not make us buffer without bound (ARCHITECTURE principle 10).
    if (this.socket.writableLength + bytes.length > this.listener.options.writeBacklogBytes) {
      this.close('write_backlog');
      return false;
    }
    this.listener.counters.bytesOut += bytes.length;
    this.socket.write(bytes);
    return true;
  }

  close(reason: string): void {
    if (this.closed) return;
    // end() lets queued ACKs reach the device; destroy() follows if the peer never lets it drain.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.finish(reason);
  }

  /** Marks the connection closed exactly once and tells the listener and the handler. */
  finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const sink = this.sink;
    this.sink = undefined;
    this.listener.release(this, reason);
    notifyClosed(this, sink, reason, this.listener.counters, this.listener.log);
  }
}

function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** TCP listener: accepts, enforces connection limits and timeouts, funnels every error. */
export class TcpListener {
  readonly counters: TransportCounters = newCounters();
  private server: net.Server | undefined;
  private readonly perIp = new Map<string, number>();
  private readonly live = new Set<TcpConnection>();

  constructor(
    readonly options: TcpListenerOptions,
    private readonly handler: ConnectionHandler,
    readonly log: ListenerLogger,
  ) {}

  get connectionCount(): number {
    return this.live.size;
  }

  async start(): Promise<{ host: string; port: number }> {
    const server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) =>
      this.accept(socket),
    );
    this.server = server;
    server.maxConnections = this.options.maxConnections + 64; // our own check below closes politely first
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.warn({ err: String(err) }, 'tcp listener error'));
    const addr = server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  /** Stops accepting; existing connections are closed with `reason`. */
  async stop(reason = 'shutdown'): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const conn of [...this.live]) conn.close(reason);
    await closed;
  }

  /** Stops accepting new connections without touching live ones (graceful shutdown, step one). */
  stopAccepting(): void {
    this.server?.close();
  }

  release(conn: TcpConnection, reason: string): void {
    if (!this.live.delete(conn)) return;
    bump(this.counters.closed, reason);
    const n = (this.perIp.get(conn.remoteAddress) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.remoteAddress);
    else this.perIp.set(conn.remoteAddress, n);
    this.log.info({ conn: conn.id, remote: conn.remote, reason }, 'connection closed');
  }

  private accept(socket: net.Socket): void {
    const conn = new TcpConnection(socket, this);
    socket.on('error', (err) => {
      // ECONNRESET and friends are routine on cellular links: count, log at debug, close.
      this.counters.errors++;
      this.log.debug({ conn: conn.id, err: (err as NodeJS.ErrnoException).code ?? String(err) }, 'socket error');
      conn.finish(`socket_error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`);
    });
    if (this.live.size >= this.options.maxConnections) {
      bump(this.counters.rejected, 'max_connections');
      socket.destroy();
      return;
    }
    const ipCount = this.perIp.get(conn.remoteAddress) ?? 0;
    if (ipCount >= this.options.maxConnectionsPerIp) {
      bump(this.counters.rejected, 'max_connections_per_ip');
      socket.destroy();
      return;
    }
    this.perIp.set(conn.remoteAddress, ipCount + 1);
    this.live.add(conn);
    this.counters.accepted++;
    this.log.info({ conn: conn.id, remote: conn.remote }, 'connection opened');
    try {
      conn.sink = this.handler.open(conn);
    } catch (err) {
      this.counters.errors++;
      this.log.warn({ conn: conn.id, err: String(err) }, 'connection handler refused connection');
      conn.close('handler_refused');
      return;
    }
    socket.setTimeout(this.options.idleTimeoutSec * 1000, () => conn.close('idle_timeout'));
    socket.on('data', (chunk: Buffer) => {
      this.counters.bytesIn += chunk.length;
      conn.lastSeenMs = Date.now();
      deliver(conn, conn.sink, chunk, this.counters, this.log);
    });
    socket.on('end', () => conn.close('peer_closed'));
    socket.on('close', () => conn.finish('peer_closed'));
  }
}
