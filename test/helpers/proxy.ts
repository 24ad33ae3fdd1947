/**
 * A TCP proxy on 127.0.0.1 for uplink faults: latency, a cellular-like byte rate, and cutting
 * every connection. Written for the tests; it only ever connects to 127.0.0.1.
 */
import net from 'node:net';

export interface ProxyOptions {
  targetPort: number;
  latencyMs?: number;
  /** bytes per second in each direction (0 = unlimited) */
  bytesPerSec?: number;
}

export class FaultProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  port = 0;
  cuts = 0;

  constructor(private readonly options: ProxyOptions) {}

  async start(port = 0): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every live connection (the link flaps). */
  cutAll(): void {
    this.cuts++;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cutAll();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.options.targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /**
   * One FIFO per direction drained by a single timer: independent timers per chunk could fire out
   * of order (timer delays are whole milliseconds) and corrupt the stream.
   */
  private pipe(from: net.Socket, to: net.Socket): void {
    const latency = this.options.latencyMs ?? 0;
    const rate = this.options.bytesPerSec ?? 0;
    const queue: Array<{ chunk: Buffer; at: number }> = [];
    let nextFreeAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && (queue[0] as { at: number }).at <= now) {
        const { chunk } = queue.shift() as { chunk: Buffer };
        if (!to.destroyed) to.write(chunk);
      }
      // Back-pressure: a slow link must slow the sender, not buffer without bound here.
      if (from.isPaused() && nextFreeAt - now < 1000) from.resume();
      if (queue.length > 0) timer = setTimeout(drain, Math.max(1, (queue[0] as { at: number }).at - now));
    };
    from.on('data', (chunk: Buffer) => {
      const now = Date.now();
      nextFreeAt = Math.max(nextFreeAt, now) + (rate > 0 ? (chunk.length / rate) * 1000 : 0);
      queue.push({ chunk, at: nextFreeAt + latency });
      if (rate > 0 && nextFreeAt - now > 2000) from.pause();
      if (!timer) timer = setTimeout(drain, Math.max(0, nextFreeAt + latency - now));
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
      queue.length = 0;
    });
  }
}
