/** H02 / CanTrack server-to-device commands (PROTOCOLS.md 3.4, 3.5). Pure. */
import type { RelayAction } from '../types.js';

function hhmmss(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

function yyyyMMddHHmmss(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * S20 relay command: `C=1` is the "static" cut (relay held), the second number 1/0 turns it on/off
 * (vendor text quoted in Traccar PR#1899). The HHMMSS is our clock; the device echoes it in V4.
 */
export function encodeH02Relay(maker: string, deviceId: string, action: RelayAction, now: Date): { bytes: Buffer; time: string } {
  const time = hhmmss(now);
  const onOff = action === 'engine_stop' ? '1' : '0';
  return { bytes: Buffer.from(`*${maker},${deviceId},S20,${time},1,${onOff}#`, 'latin1'), time };
}

/** Optional time-sync reply Traccar sends after every V1. */
export function encodeH02TimeSync(maker: string, deviceId: string, now: Date): Buffer {
  return Buffer.from(`*${maker},${deviceId},V4,V1,${yyyyMMddHHmmss(now)}#`, 'latin1');
}

/** Optional R12 ack; Sinotrack ST-901L re-sends stored points forever without it (traccar PR#5597). */
export function encodeH02R12(maker: string, deviceId: string, now: Date): Buffer {
  return Buffer.from(`*${maker},${deviceId},R12,${hhmmss(now)}#`, 'latin1');
}
