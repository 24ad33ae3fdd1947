/**
 * The gateway status snapshot (CONTRACT 1, `tkgw status --json`), built from the store alone when
 * the gateway is not running, or served live by the local HTTP endpoint.
 */
export interface StatusSnapshot {
  devices: { known: number; online: number };
  records: { total: number; lastSeq: number };
  backlog: { rows: number; bytes: number; oldestAgeSec: number };
  uplink: { connected: boolean; session: number; lastAckAt: string | null };
  commands: { pending: number };
}

export function formatStatus(s: StatusSnapshot, extra: { running: boolean; source: string }): string {
  const lines = [
    `gateway     ${extra.running ? 'running' : 'not running'} (${extra.source})`,
    `devices     ${s.devices.online} online / ${s.devices.known} known`,
    `records     ${s.records.total} stored, last seq ${s.records.lastSeq}`,
    `backlog     ${s.backlog.rows} rows, ${formatBytes(s.backlog.bytes)}, oldest ${formatAge(s.backlog.oldestAgeSec)}`,
    `uplink      ${s.uplink.connected ? 'connected' : 'disconnected'}, session ${s.uplink.session}, last ack ${s.uplink.lastAckAt ?? (extra.running ? 'never' : 'unknown (the gateway keeps it in memory)')}`,
    `commands    ${s.commands.pending} pending`,
  ];
  return lines.join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function formatAge(sec: number): string {
  if (sec <= 0) return '-';
  if (sec < 120) return `${Math.round(sec)} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  if (sec < 172800) return `${(sec / 3600).toFixed(1)} h`;
  return `${(sec / 86400).toFixed(1)} d`;
}
