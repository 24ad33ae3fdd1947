/**
 * One simulated tracker: connects like a unit (TCP, or UDP datagrams), logs in and waits for the
 * login ACK (retrying like firmware does), reports on a schedule, reconnects after a drop, and
 * executes engine stop/resume like a device: reply, then the new relay state in later reports.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Gt06Framer } from '../protocol/gt06/framer.js';
import type { ProtocolFamily } from '../protocol/types.js';
import { buildFrame, gt06CommandReply, h02CommandReply, type BuiltFrame, type DeviceState, type ReportKind } from './frames.js';

export interface SimDeviceOptions {
  family: ProtocolFamily;
  transport: 'tcp' | 'udp';
  host: string;
  port: number;
  imei: string;
  shortId: string;
  count: number;
  intervalMs: number;
  /**
   * Reports written in one socket write at each wake-up, like a unit uploading the positions it
   * stored while out of coverage. UDP units still send one datagram per report.
   */
  burst: number;
  alarmEvery: number;
  heartbeatEvery: number;
  speedKmh: number;
  loginTimeoutMs: number;
  loginRetries: number;
  /** keep the frames whose ACK arrived, for reconciliation tests */
  keepAckedFrames: boolean;
}

export interface SimDeviceResult {
  id: string;
  family: ProtocolFamily;
  transport: 'tcp' | 'udp';
  sent: number;
  acked: number;
  errors: number;
  commands: number;
  loggedIn: boolean;
  ackedFrames: string[];
  relayCut: boolean;
}

const START_LAT = 52.3702;
const START_LON = 4.8952;

export class SimDevice {
  readonly state: DeviceState;
  private sent = 0;
  private acked = 0;
  private errors = 0;
  private commands = 0;
  private loggedIn = false;
  private serial = 1;
  private socket: net.Socket | undefined;
  private udp: dgram.Socket | undefined;
  private readonly pendingAcks = new Map<string, string[]>();
  private readonly ackedFrames: string[] = [];
  private rx = Buffer.alloc(0);
  private readonly gt06Framer = new Gt06Framer({ maxFrameBytes: 4096 });
  private ackWaiter: { key: string; resolve: (ok: boolean) => void } | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private connected = false;

  constructor(private readonly opts: SimDeviceOptions) {
    const n = Number(opts.imei.slice(-4));
    this.state = {
      imei: opts.imei,
      shortId: opts.shortId,
      lat: START_LAT + (n % 100) * 0.0005,
      lon: START_LON + Math.floor(n / 100) * 0.0005,
      speedKmh: opts.speedKmh,
      course: (n * 37) % 360,
      ignition: opts.speedKmh > 0,
      relayCut: false,
      battery: 100,
    };
  }

  get id(): string {
    return this.opts.family === 'tk103' ? this.opts.shortId : this.opts.imei;
  }

  /** Changes the reported speed (tests: a moving vehicle that slows down). */
  setSpeed(kmh: number): void {
    this.state.speedKmh = kmh;
    this.state.ignition = kmh > 0 || this.state.ignition;
  }

  result(): SimDeviceResult {
    return {
      id: this.id,
      family: this.opts.family,
      transport: this.opts.transport,
      sent: this.sent,
      acked: this.acked,
      errors: this.errors,
      commands: this.commands,
      loggedIn: this.loggedIn,
      ackedFrames: this.ackedFrames,
      relayCut: this.state.relayCut,
    };
  }

  async run(): Promise<SimDeviceResult> {
    try {
      let reconnects = 0;
      let report = 0;
      while (!this.aborted() && report < this.opts.count) {
        if (!this.connected) {
          if (!(await this.connectAndLogin())) {
            if (++reconnects > 5) break;
            await this.sleep(Math.min(5000, 300 * 2 ** reconnects));
            continue;
          }
        }
        await this.sleep(this.opts.intervalMs);
        if (this.aborted() || !this.connected) continue;
        const reports = Math.min(Math.max(1, this.opts.burst), this.opts.count - report);
        // Corked, the burst leaves in one write (one syscall) however many frames it holds.
        const socket = reports > 1 ? this.socket : undefined;
        socket?.cork();
        for (let i = 0; i < reports; i++) {
          this.moveAlong();
          this.send(this.frame(this.reportKind(report)));
          report++;
        }
        socket?.uncork();
      }
      // Let the last ACKs arrive before hanging up, like a unit finishing its upload.
      const deadline = Date.now() + 2000;
      while (this.connected && this.pendingCount() > 0 && Date.now() < deadline && !this.aborted()) await this.sleep(20);
    } catch {
      this.errors++;
    } finally {
      await this.closeGracefully();
    }
    return this.result();
  }

  /** Half-close and let queued bytes reach the gateway; destroy() would drop them. */
  private closeGracefully(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      this.close();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.close();
        resolve();
      }, 5000);
      socket.once('close', () => {
        clearTimeout(timer);
        this.close();
        resolve();
      });
      socket.end();
    });
  }

  private aborted(): boolean {
    return this.stopped;
  }

  private reportKind(i: number): ReportKind {
    if (this.opts.alarmEvery > 0 && (i + 1) % this.opts.alarmEvery === 0) return 'alarm';
    if (this.opts.heartbeatEvery > 0 && (i + 1) % this.opts.heartbeatEvery === 0) return 'heartbeat';
    return 'position';
  }

  private moveAlong(): void {
    const s = this.state;
    if (s.speedKmh <= 0) return;
    const km = (s.speedKmh * this.opts.intervalMs) / 3_600_000;
    s.lat += (km / 111) * Math.cos((s.course * Math.PI) / 180);
    s.lon += (km / 68) * Math.sin((s.course * Math.PI) / 180);
  }

  private frame(kind: ReportKind): BuiltFrame {
    return buildFrame(this.opts.family, this.state, kind, new Date(), this.serial++);
  }

  private async connectAndLogin(): Promise<boolean> {
    try {
      await this.open();
    } catch {
      this.errors++;
      return false;
    }
    for (let attempt = 0; attempt <= this.opts.loginRetries && !this.aborted(); attempt++) {
      const login = this.frame('login');
      const ok = await this.sendAndWait(login, this.opts.loginTimeoutMs);
      if (ok) {
        this.loggedIn = true;
        return true;
      }
      if (!this.connected) break;
    }
    this.close();
    return false;
  }

  private open(): Promise<void> {
    this.rx = Buffer.alloc(0);
    if (this.opts.transport === 'udp') {
      const socket = dgram.createSocket('udp4');
      this.udp = socket;
      socket.on('message', (msg) => this.receive(msg));
      socket.on('error', () => {
        this.errors++;
      });
      this.connected = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: this.opts.host, port: this.opts.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.once('connect', () => {
        this.connected = true;
        resolve();
      });
      socket.on('data', (d: Buffer) => this.receive(d));
      socket.on('error', (err) => {
        if (!this.connected) reject(err);
      });
      socket.on('close', () => {
        this.connected = false;
        if (this.socket === socket) this.socket = undefined;
        this.ackWaiter?.resolve(false);
      });
    });
  }

  private close(): void {
    this.connected = false;
    this.socket?.destroy();
    this.socket = undefined;
    try {
      this.udp?.close();
    } catch {
      // already closed
    }
    this.udp = undefined;
  }

  private send(frame: BuiltFrame): void {
    if (frame.ackKey) {
      const list = this.pendingAcks.get(frame.ackKey) ?? [];
      list.push(frame.bytes.toString('hex'));
      this.pendingAcks.set(frame.ackKey, list);
    }
    this.sent++;
    if (this.udp) this.udp.send(frame.bytes, this.opts.port, this.opts.host);
    else this.socket?.write(frame.bytes);
  }

  private sendAndWait(frame: BuiltFrame, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ackWaiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.ackWaiter = {
        key: frame.ackKey ?? '',
        resolve: (ok) => {
          clearTimeout(timer);
          this.ackWaiter = undefined;
          resolve(ok);
        },
      };
      this.send(frame);
    });
  }

  private pendingCount(): number {
    let n = 0;
    for (const l of this.pendingAcks.values()) n += l.length;
    return n;
  }

  private ack(key: string): void {
    const list = this.pendingAcks.get(key);
    const hex = list?.shift();
    if (hex === undefined) return;
    this.acked++;
    if (this.opts.keepAckedFrames) this.ackedFrames.push(hex);
    if (this.ackWaiter && this.ackWaiter.key === key) this.ackWaiter.resolve(true);
  }

  private receive(bytes: Buffer): void {
    try {
      switch (this.opts.family) {
        case 'gt06':
          for (const out of this.gt06Framer.push(bytes)) if (out.kind === 'frame') this.gt06Downlink(out.frame);
          return;
        case 'h02':
          return this.textDownlink(bytes, '#', (t) => this.h02Downlink(t));
        case 'tk103':
          return this.textDownlink(bytes, ')', (t) => this.tk103Downlink(t));
        case 'gps103':
          return this.gps103Downlink(bytes);
      }
    } catch {
      this.errors++;
    }
  }

  private textDownlink(bytes: Buffer, terminator: string, handle: (text: string) => void): void {
    this.rx = Buffer.concat([this.rx, bytes]);
    let text = this.rx.toString('latin1');
    let end: number;
    while ((end = text.indexOf(terminator)) >= 0) {
      handle(text.slice(0, end + 1).trim());
      text = text.slice(end + 1);
    }
    this.rx = Buffer.from(text, 'latin1');
  }

  private h02Downlink(text: string): void {
    const fields = text.replace(/^\*/, '').replace(/#$/, '').split(',');
    const type = fields[2];
    if (type === 'V0' || type === 'HTBT') return this.ack(type);
    if (type === 'S20') {
      const serverTime = fields[3] ?? '000000';
      this.executeRelay(fields[5] === '1');
      this.sendRaw(h02CommandReply(this.state, serverTime, true, new Date()));
    }
  }

  private gt06Downlink(frame: Buffer): void {
    const proto = frame[3] as number;
    if (proto === 0x80) {
      const cmdLen = frame[4] as number;
      const flag = frame.readUInt32BE(5);
      const text = frame.toString('latin1', 9, 9 + cmdLen - 4);
      const cut = /^(Relay,1|DYD)/.test(text);
      this.executeRelay(cut);
      this.sendRaw(gt06CommandReply(flag, cut, this.serial++));
      return;
    }
    if (frame[2] === 0x05) {
      const serial = frame.readUInt16BE(4);
      this.ack(`${proto.toString(16).padStart(2, '0')}:${serial}`);
    }
  }

  private tk103Downlink(text: string): void {
    const m = /AP05|AP01|AV01([01])/.exec(text);
    if (!m) return;
    if (m[0] === 'AP05' || m[0] === 'AP01') return this.ack(m[0]);
    // No reply exists for AV01 in any capture: the new state shows in the next report.
    this.executeRelay(m[1] === '0');
  }

  private gps103Downlink(bytes: Buffer): void {
    this.rx = Buffer.concat([this.rx, bytes]);
    let text = this.rx.toString('latin1');
    for (;;) {
      if (text.startsWith('LOAD')) {
        this.ack('LOAD');
        text = text.slice(4);
      } else if (text.startsWith('ON')) {
        this.ack('ON');
        text = text.slice(2);
      } else {
        const m = /^\*\*,imei:(\d{15}),([A-Z])(;?)/.exec(text);
        if (!m) break;
        if (m[2] === 'E') this.ack('SOS');
        else if (m[2] === 'J' || m[2] === 'K') this.executeRelay(m[2] === 'J');
        text = text.slice(m[0].length);
      }
    }
    this.rx = Buffer.from(text, 'latin1');
  }

  private executeRelay(cut: boolean): void {
    this.commands++;
    this.state.relayCut = cut;
    // Report soon, so the gateway sees the new relay state without waiting a whole interval.
    setTimeout(() => {
      if (this.connected && !this.aborted()) this.send(this.frame(this.opts.family === 'gt06' ? 'heartbeat' : 'position'));
    }, 50).unref();
  }

  private sendRaw(bytes: Buffer): void {
    this.sent++;
    if (this.udp) this.udp.send(bytes, this.opts.port, this.opts.host);
    else this.socket?.write(bytes);
  }

  /** Ends the run early (SIGINT/SIGTERM): the current wait returns at once. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.aborted()) return Promise.resolve();
    // Back-to-back reports (interval 0, the benchmarks' load) only yield to the event loop: a
    // timer per frame was a tenth of the simulator's CPU, which shares the box with the gateway.
    if (ms <= 0) {
      return new Promise((resolve) => {
        const immediate = setImmediate(() => {
          this.wake = undefined;
          resolve();
        });
        this.wake = () => {
          clearImmediate(immediate);
          this.wake = undefined;
          resolve();
        };
      });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
