/**
 * What the transport layer hands to the rest of the gateway: a protocol-agnostic connection.
 * Listeners know nothing of trackers; a handler decides what the bytes mean.
 */
export type TransportKind = 'tcp' | 'udp';

export interface Connection {
  /** unique for the process lifetime, e.g. `t17` / `u4` */
  readonly id: string;
  readonly transport: TransportKind;
  /** `ip:port` of the peer */
  readonly remote: string;
  readonly remoteAddress: string;
  /**
   * Queues bytes for the peer. Returns false (and closes the connection) when the peer does not
   * read and the write backlog bound is exceeded.
   */
  write(bytes: Buffer): boolean;
  /** Closes the connection; `reason` is logged and counted. Idempotent. */
  close(reason: string): void;
  readonly closed: boolean;
  /**
   * ms of the last bytes received: a TCP connection silent for idleTimeoutSec is closed; for a UDP
   * peer it is the last datagram (the carrier NAT mapping is only open for a short while)
   */
  readonly lastSeenMs: number;
}

/** Per-connection receiver created by the handler. Exceptions thrown here close the connection. */
export interface ConnectionSink {
  /** TCP: a chunk of the stream. UDP: one whole datagram. */
  data(bytes: Buffer): void;
  /** the connection ended (peer closed, error, timeout, or `close()`) */
  closed(reason: string): void;
}

export interface ConnectionHandler {
  open(conn: Connection): ConnectionSink;
}

/** Counters every listener keeps; exposed through /metrics and health. */
export interface TransportCounters {
  accepted: number;
  rejected: Record<string, number>;
  closed: Record<string, number>;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  datagrams: number;
}

export function newCounters(): TransportCounters {
  return { accepted: 0, rejected: {}, closed: {}, errors: 0, bytesIn: 0, bytesOut: 0, datagrams: 0 };
}

export function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export interface ListenerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/**
 * The one funnel for per-connection failures (ARCHITECTURE principle 9): whatever the handler
 * throws closes that connection only, and is counted.
 */
export function deliver(conn: Connection, sink: ConnectionSink | undefined, bytes: Buffer, counters: TransportCounters, log: ListenerLogger): void {
  if (!sink) return;
  try {
    sink.data(bytes);
  } catch (err) {
    counters.errors++;
    log.warn({ conn: conn.id, remote: conn.remote, err: String(err) }, 'connection handler failed');
    conn.close('handler_error');
  }
}

/** Tells the handler a connection ended; a failing close handler is counted, never thrown. */
export function notifyClosed(conn: Connection, sink: ConnectionSink | undefined, reason: string, counters: TransportCounters, log: ListenerLogger): void {
  if (!sink) return;
  try {
    sink.closed(reason);
  } catch (err) {
    counters.errors++;
    log.warn({ conn: conn.id, err: String(err) }, 'connection close handler failed');
  }
}
