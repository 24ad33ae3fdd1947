import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs` with `what`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A TCP client on 127.0.0.1 that collects everything it receives. */
export class TestClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<TestClient> {
    const socket = net.connect({ port, host });
    await once(socket, 'connect');
    return new TestClient(socket);
  }

  send(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  async waitForBytes(n: number, timeoutMs = 10_000): Promise<Buffer> {
    await waitFor(() => this.received.length >= n, `${n} bytes from the gateway`, timeoutMs);
    return this.received;
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.closed, 'the gateway to close the connection', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A UDP client bound to 127.0.0.1 that collects datagrams. */
export class TestUdpClient {
  readonly socket = dgram.createSocket('udp4');
  readonly received: Buffer[] = [];

  static async open(): Promise<TestUdpClient> {
    const c = new TestUdpClient();
    c.socket.on('message', (m) => c.received.push(m));
    await new Promise<void>((resolve) => c.socket.bind(0, '127.0.0.1', () => resolve()));
    return c;
  }

  send(bytes: Buffer | string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.socket.close();
  }
}

export const silentLog = {
  info() {},
  warn() {},
  debug() {},
  error() {},
  isLevelEnabled: () => false,
};
