import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TcpListener, type TcpListenerOptions } from '../../src/transport/tcp.js';
import { UdpListener } from '../../src/transport/udp.js';
import type { Connection, ConnectionHandler, ConnectionSink } from '../../src/transport/types.js';
import { silentLog, TestClient, TestUdpClient, waitFor } from '../helpers/net.js';

const tcpOptions = (over: Partial<TcpListenerOptions> = {}): TcpListenerOptions => ({
  host: '127.0.0.1',
  port: 0,
  maxConnections: 100,
  maxConnectionsPerIp: 100,
  idleTimeoutSec: 30,
  writeBacklogBytes: 65536,
  ...over,
});

/** Echoes every chunk upper-cased; throws on "boom"; remembers close reasons. */
class EchoHandler implements ConnectionHandler {
  readonly conns: Connection[] = [];
  readonly closeReasons: string[] = [];
  open(conn: Connection): ConnectionSink {
    this.conns.push(conn);
    return {
      data: (bytes) => {
        if (bytes.toString().includes('boom')) throw new Error('handler exploded');
        conn.write(Buffer.from(bytes.toString().toUpperCase()));
      },
      closed: (reason) => {
        this.closeReasons.push(reason);
      },
    };
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** A TcpListener on 127.0.0.1 port 0, stopped after the test. */
async function startTcp(over: Partial<TcpListenerOptions> = {}, handler: ConnectionHandler = new EchoHandler()): Promise<{ listener: TcpListener; port: number }> {
  const listener = new TcpListener(tcpOptions(over), handler, silentLog);
  const { port } = await listener.start();
  cleanups.push(() => listener.stop());
  return { listener, port };
}

describe('TcpListener', () => {
  it('delivers bytes to the handler and writes replies', async () => {
    const handler = new EchoHandler();
    const { listener, port } = await startTcp({}, handler);
    const client = await TestClient.connect(port);
    cleanups.push(() => client.destroy());
    client.send('hello');
    assert.equal((await client.waitForBytes(5)).toString(), 'HELLO');
    assert.equal(listener.counters.accepted, 1);
    assert.equal(handler.conns[0]?.remoteAddress, '127.0.0.1');
  });

  it('a throwing handler closes only that connection and is counted', async () => {
    const handler = new EchoHandler();
    const { listener, port } = await startTcp({}, handler);
    const bad = await TestClient.connect(port);
    const good = await TestClient.connect(port);
    cleanups.push(() => bad.destroy(), () => good.destroy());
    bad.send('boom');
    await bad.waitClosed();
    good.send('still here');
    assert.equal((await good.waitForBytes(10)).toString(), 'STILL HERE');
    assert.equal(listener.counters.errors, 1);
    assert.equal(listener.counters.closed['handler_error'], 1);
    assert.deepEqual(handler.closeReasons, ['handler_error']);
  });

  it('enforces the per-IP connection limit', async () => {
    const { listener, port } = await startTcp({ maxConnectionsPerIp: 2 });
    const a = await TestClient.connect(port);
    const b = await TestClient.connect(port);
    const c = await TestClient.connect(port);
    cleanups.push(() => a.destroy(), () => b.destroy(), () => c.destroy());
    await c.waitClosed();
    assert.equal(listener.counters.rejected['max_connections_per_ip'], 1);
    a.send('x');
    assert.equal((await a.waitForBytes(1)).toString(), 'X');
  });

  it('closes idle connections', async () => {
    const handler = new EchoHandler();
    const { port } = await startTcp({ idleTimeoutSec: 0.3 }, handler);
    const client = await TestClient.connect(port);
    cleanups.push(() => client.destroy());
    await client.waitClosed();
    await waitFor(() => handler.closeReasons.includes('idle_timeout'), 'idle close reason');
  });

  it('a connection that keeps sending is not idle; a silent one beside it is', async () => {
    const handler = new EchoHandler();
    const { listener, port } = await startTcp({ idleTimeoutSec: 2 }, handler);
    const silent = await TestClient.connect(port);
    const talker = await TestClient.connect(port);
    cleanups.push(() => silent.destroy(), () => talker.destroy());
    const ticker = setInterval(() => talker.send('.'), 200);
    cleanups.push(() => clearInterval(ticker));
    await silent.waitClosed();
    assert.deepEqual(handler.closeReasons, ['idle_timeout']);
    assert.equal(talker.closed, false);
    assert.equal(listener.connectionCount, 1);
    // Bytes the talker sent went on reaching the handler: the sweep did not get in their way.
    const before = talker.received.length;
    await talker.waitForBytes(before + 1);
  });

  it('ends connections through one funnel: peer end, peer reset, handler refusal', async () => {
    let refuse = false;
    const handler = new EchoHandler();
    const refusing: ConnectionHandler = {
      open: (conn) => {
        if (refuse) throw new Error('no thanks');
        return handler.open(conn);
      },
    };
    const { listener, port } = await startTcp({}, refusing);
    const ender = await TestClient.connect(port);
    const resetter = await TestClient.connect(port);
    const localPorts = [ender, resetter].map((c) => `127.0.0.1:${c.socket.localPort}`).sort();
    await waitFor(() => handler.conns.length === 2, 'two connections');
    ender.socket.end();
    await waitFor(() => handler.closeReasons.length === 1, 'the ended connection closed');
    resetter.socket.resetAndDestroy();
    await waitFor(() => handler.closeReasons.length === 2, 'the reset connection closed');
    refuse = true;
    const refused = await TestClient.connect(port);
    cleanups.push(() => refused.destroy());
    await refused.waitClosed();
    assert.equal(handler.closeReasons[0], 'peer_closed');
    assert.match(handler.closeReasons[1] ?? '', /^(socket_error:ECONNRESET|peer_closed)$/);
    await waitFor(() => listener.counters.closed['handler_refused'] === 1, 'refusal counted');
    assert.equal(listener.connectionCount, 0);
    assert.deepEqual(handler.conns.map((c) => c.transport), ['tcp', 'tcp']);
    assert.ok(handler.conns.every((c) => /^t\d+$/.test(c.id)));
    assert.deepEqual(handler.conns.map((c) => c.remote).sort(), localPorts);
    assert.notEqual(handler.conns[0]?.id, handler.conns[1]?.id);
  });

  it('closes a peer that does not read once the write backlog bound is exceeded', async () => {
    const handler = new EchoHandler();
    const { port } = await startTcp({ writeBacklogBytes: 1024 }, handler);
    const client = await TestClient.connect(port);
    cleanups.push(() => client.destroy());
    client.socket.pause();
    await waitFor(() => handler.conns.length === 1, 'connection');
    const conn = handler.conns[0] as Connection;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let accepted = 0;
    for (let i = 0; i < 200 && !conn.closed; i++) if (conn.write(chunk)) accepted++;
    assert.ok(conn.closed, 'connection closed by the backlog bound');
    assert.ok(accepted < 200);
    await waitFor(() => handler.closeReasons.includes('write_backlog'), 'write_backlog reason');
  });

  it('stop() closes live connections', async () => {
    const handler = new EchoHandler();
    const listener = new TcpListener(tcpOptions(), handler, silentLog);
    const { port } = await listener.start();
    const client = await TestClient.connect(port);
    cleanups.push(() => client.destroy());
    await waitFor(() => handler.conns.length === 1, 'connection');
    await listener.stop();
    await client.waitClosed();
    assert.deepEqual(handler.closeReasons, ['shutdown']);
  });
});

describe('UdpListener', () => {
  it('treats each source as a peer and replies to the datagram source', async () => {
    const handler = new EchoHandler();
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, peerIdleSec: 30, maxUdpSources: 10, writeBacklogBytes: 4096 }, handler, silentLog);
    const { port } = await listener.start();
    cleanups.push(() => listener.stop());
    const a = await TestUdpClient.open();
    const b = await TestUdpClient.open();
    cleanups.push(() => a.close(), () => b.close());
    await a.send('one', port);
    await a.send('two', port);
    await b.send('three', port);
    await waitFor(() => a.received.length === 2 && b.received.length === 1, 'udp replies');
    assert.deepEqual(a.received.map(String), ['ONE', 'TWO']);
    assert.deepEqual(b.received.map(String), ['THREE']);
    assert.equal(listener.peerCount, 2);
    assert.equal(handler.conns.length, 2, 'one peer per source');
  });

  it('bounds the number of sources, dropping the least recently seen', async () => {
    const handler = new EchoHandler();
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, peerIdleSec: 30, maxUdpSources: 2, writeBacklogBytes: 4096 }, handler, silentLog);
    const { port } = await listener.start();
    cleanups.push(() => listener.stop());
    const clients = await Promise.all([TestUdpClient.open(), TestUdpClient.open(), TestUdpClient.open()]);
    cleanups.push(() => clients.forEach((c) => c.close()));
    for (const c of clients) {
      await c.send('x', port);
      await waitFor(() => c.received.length === 1, 'reply');
    }
    assert.equal(listener.peerCount, 2);
    assert.deepEqual(handler.closeReasons, ['udp_sources_full']);
  });
});
