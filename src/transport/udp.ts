import dgram from 'node:dgram';
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

export interface UdpListenerOptions {
  host: string;
  port: number;
  /**
   * a source silent for this long is forgotten (device offline). Downlink reachability uses the
   * much shorter carrier NAT window instead: see `Connection.lastSeenMs`.
   */
  peerIdleSec: number;
  /** bound on remembered sources; the least recently seen is dropped when full */
  maxUdpSources: number;
  /** per-source bound on bytes queued by one write (a datagram is one write) */
  writeBacklogBytes: number;
}

let nextId = 0;

/** One remote (ip, port) seen on the UDP socket, presented as a connection. */
class UdpPeer implements Connection {
  readonly id = `u${++nextId}`;
  readonly transport = 'udp' as const;
  lastSeenMs = Date.now();
  closed = false;
  sink: ConnectionSink | undefined;

  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly listener: UdpListener,
  ) {}

  get remote(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  write(bytes: Buffer): boolean {
    if (this.closed) return false;
    if (bytes.length > this.listener.options.writeBacklogBytes) return false;
    this.listener.send(this, bytes);
    return true;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.listener.forget(this, reason);
  }
}

/**
 * UDP listener: one datagram is one message (PROTOCOLS.md 2); replies go to the datagram's source.
 * Sources are tracked so a device's session (identity, pending downlink) survives between datagrams.
 */
export class UdpListener {
  readonly counters: TransportCounters = newCounters();
  private socket: dgram.Socket | undefined;
  // Map iteration order is insertion order: re-inserting on every datagram keeps it an LRU.
  private readonly peers = new Map<string, UdpPeer>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly options: UdpListenerOptions,
    private readonly handler: ConnectionHandler,
    readonly log: ListenerLogger,
  ) {}

  get peerCount(): number {
    return this.peers.size;
  }

  async start(): Promise<{ host: string; port: number }> {
    const family = this.options.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type: family, reuseAddr: false });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: this.options.host, port: this.options.port }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => {
      this.counters.errors++;
      this.log.warn({ err: String(err) }, 'udp socket error');
    });
    const sweepMs = Math.max(1000, (this.options.peerIdleSec * 1000) / 2);
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
    this.sweepTimer.unref();
    const addr = socket.address();
    return { host: addr.address, port: addr.port };
  }

  async stop(reason = 'shutdown'): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const peer of [...this.peers.values()]) peer.close(reason);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  send(peer: UdpPeer, bytes: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    this.counters.bytesOut += bytes.length;
    socket.send(bytes, peer.remotePort, peer.remoteAddress, (err) => {
      if (err) {
        this.counters.errors++;
        this.log.debug({ peer: peer.id, err: String(err) }, 'udp send failed');
      }
    });
  }

  forget(peer: UdpPeer, reason: string): void {
    const key = peer.remote;
    if (this.peers.get(key) === peer) this.peers.delete(key);
    bump(this.counters.closed, reason);
    const sink = peer.sink;
    peer.sink = undefined;
    notifyClosed(peer, sink, reason, this.counters, this.log);
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.counters.datagrams++;
    this.counters.bytesIn += msg.length;
    const address = rinfo.address.startsWith('::ffff:') ? rinfo.address.slice(7) : rinfo.address;
    const key = `${address}:${rinfo.port}`;
    let peer = this.peers.get(key);
    if (peer) {
      this.peers.delete(key);
      this.peers.set(key, peer);
    } else {
      if (this.peers.size >= this.options.maxUdpSources) {
        const oldest = this.peers.values().next().value;
        if (oldest) oldest.close('udp_sources_full');
      }
      peer = new UdpPeer(address, rinfo.port, this);
      this.peers.set(key, peer);
      this.counters.accepted++;
      try {
        peer.sink = this.handler.open(peer);
      } catch (err) {
        this.counters.errors++;
        this.log.warn({ peer: peer.id, err: String(err) }, 'udp handler refused source');
        peer.close('handler_refused');
        return;
      }
    }
    peer.lastSeenMs = Date.now();
    deliver(peer, peer.sink, msg, this.counters, this.log);
  }

  private sweep(): void {
    const limit = Date.now() - this.options.peerIdleSec * 1000;
    for (const peer of this.peers.values()) {
      // LRU order: the first recent one ends the sweep.
      if (peer.lastSeenMs >= limit) break;
      peer.close('udp_idle');
    }
  }
}
