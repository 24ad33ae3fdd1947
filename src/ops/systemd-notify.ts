/**
 * systemd notifications (Type=notify): READY, WATCHDOG, STOPPING, STATUS. Node has no unix
 * datagram sockets, so they go through the `systemd-notify` tool; the unit sets NotifyAccess=all
 * because the message then comes from a child process. Without NOTIFY_SOCKET everything is a no-op.
 */
import { spawn } from 'node:child_process';

export interface SystemdNotifier {
  ready(): void;
  watchdog(): void;
  stopping(): void;
  status(text: string): void;
  /** half of WatchdogSec, or null when systemd does not watch us */
  readonly watchdogIntervalMs: number | null;
}

export function createSystemdNotifier(env: NodeJS.ProcessEnv, binary = 'systemd-notify'): SystemdNotifier {
  if (!env['NOTIFY_SOCKET']) {
    return { ready() {}, watchdog() {}, stopping() {}, status() {}, watchdogIntervalMs: null };
  }
  const usec = Number(env['WATCHDOG_USEC'] ?? 0);
  const send = (...args: string[]) => {
    const child = spawn(binary, [`--pid=${process.pid}`, ...args], { stdio: 'ignore', env });
    child.on('error', () => undefined);
    child.unref();
  };
  return {
    ready: () => send('--ready'),
    watchdog: () => send('WATCHDOG=1'),
    stopping: () => send('STOPPING=1'),
    status: (text) => send(`--status=${text}`),
    watchdogIntervalMs: usec > 0 ? Math.max(1000, Math.floor(usec / 1000 / 2)) : null,
  };
}
