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

/** how the shared socket listeners below find their connection */
const kConn = Symbol('tkgw.tcpConnection');
type OwnedSocket = net.Socket & { [kConn]?: TcpConnection };

/*
 * Per-socket state is what 10,000 mostly idle trackers multiply. The socket listeners are module
 * functions shared by every socket (`this` is the socket) instead of closures per connection, and
 * idle connections are found by one sweep over the live set instead of a timer per socket
 * (socket.setTimeout costs a Timeout, a once() wrapper and two bound functions each).
 */
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  const conn = this[kConn];
  if (conn) conn.received(chunk);
}

function onSocketEnd(this: OwnedSocket): void {
  this[kConn]?.close('peer_closed');
}

function onSocketClose(this: OwnedSocket): void {
  this[kConn]?.finish('peer_closed');
}

function onSocketError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  const conn = this[kConn];
  if (conn) conn.failed(err);
}

class TcpConnection implements Connection {
  private readonly n = ++nextId;
  readonly remoteAddress: string;
  private readonly remotePort: number;
  /** ms of the last bytes received (at first, of the accept); the idle sweep reads it */
  lastSeenMs = Date.now();
  closed = false;
  sink: ConnectionSink | undefined;

  constructor(
    private readonly socket: OwnedSocket,
    private readonly listener: TcpListener,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
  }

  // Derived on use (logs, device binding) rather than stored per connection.
  get id(): string {
    return `t${this.n}`;
  }

  get transport(): 'tcp' {
    return 'tcp';
  }

  get remote(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  received(chunk: Buffer): void {
    const listener = this.listener;
    listener.counters.bytesIn += chunk.length;
    this.lastSeenMs = Date.now();
    deliver(this, this.sink, chunk, listener.counters, listener.log);
  }

  failed(err: NodeJS.ErrnoException): void {
    // ECONNRESET and friends are routine on cellular links: count, log at debug, close.
    this.listener.counters.errors++;
    this.listener.log.debug({ conn: this.id, err: err.code ?? String(err) }, 'socket error');
    this.finish(`socket_error:${err.code ?? 'unknown'}`);
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
    const socket = this.socket;
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
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
  private sweepTimer: NodeJS.Timeout | undefined;

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
    // A connection is closed between idleTimeoutSec and idleTimeoutSec + one period after its
    // last bytes: a quarter of the timeout, at most 5 s.
    const sweepMs = Math.max(50, Math.min((this.options.idleTimeoutSec * 1000) / 4, 5000));
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
    this.sweepTimer.unref();
    const addr = server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  /** Stops accepting; existing connections are closed with `reason`. */
  async stop(reason = 'shutdown'): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
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

  private accept(socket: OwnedSocket): void {
    const conn = new TcpConnection(socket, this);
    socket[kConn] = conn;
    socket.on('error', onSocketError);
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
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
  }

  /** Closes connections that received nothing for idleTimeoutSec (one pass over the live set). */
  private sweep(): void {
    const limit = Date.now() - this.options.idleTimeoutSec * 1000;
    for (const conn of this.live) if (conn.lastSeenMs <= limit) conn.close('idle_timeout');
  }
}
