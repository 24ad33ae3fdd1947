/**
 * MQTT topics and payloads of the uplink contract (CONTRACT section 3). Pure functions.
 */
import type { OutboxRow } from '../store/types.js';

export interface TopicSet {
  root: string;
  status: string;
  info: string;
  health: string;
  pos: string;
  evt: string;
  cmdRes: string;
  cmdReq: string;
  ack: string;
}

export const DEFAULT_TOPIC_ROOT = 'depot/v1/{tenant}/gw/{gatewayId}';

/** `{tenant}` and `{gatewayId}` substituted; no template = `DEFAULT_TOPIC_ROOT`. */
export function topicRoot(template: string | undefined, tenant: string, gatewayId: string): string {
  return (template ?? DEFAULT_TOPIC_ROOT).replaceAll('{tenant}', tenant).replaceAll('{gatewayId}', gatewayId);
}

export function topics(root: string): TopicSet {
  return {
    root,
    status: `${root}/up/status`,
    info: `${root}/up/info`,
    health: `${root}/up/health`,
    pos: `${root}/up/pos`,
    evt: `${root}/up/evt`,
    cmdRes: `${root}/up/cmd/res`,
    cmdReq: `${root}/down/cmd/req`,
    ack: `${root}/down/ack`,
  };
}

/** gzip batches go to `<topic>/z` so MQTT 3.1.1 consumers (no user properties) can tell. */
export function compressedTopic(topic: string): string {
  return `${topic}/z`;
}

export function statusPayload(state: 'online' | 'offline', session: number, version: string, ts: Date): string {
  return JSON.stringify({ v: 1, state, ts: ts.toISOString(), session, version });
}

/**
 * One record as it travels: the stored payload (JSON without `seq`) with `seq` spliced in front,
 * and the raw frame when asked for. String splicing avoids a parse/serialize per record.
 */
export function recordJson(row: OutboxRow, includeRaw: boolean): string {
  const inner = row.payload.slice(1, -1);
  const raw = includeRaw && row.raw ? `,"raw":"${row.raw.toString('hex')}"` : '';
  return `{"seq":${row.seq}${raw}${inner ? ',' + inner : ''}}`;
}

/** `{"v":1,"gw","batch","hist","recs":[...]}` (CONTRACT 3, up/pos and up/evt). */
export function batchEnvelope(gw: string, batch: number, hist: boolean, rows: readonly OutboxRow[], includeRaw: boolean): string {
  let recs = '';
  for (let i = 0; i < rows.length; i++) recs += (i ? ',' : '') + recordJson(rows[i] as OutboxRow, includeRaw);
  return `{"v":1,"gw":${JSON.stringify(gw)},"batch":${batch},"hist":${hist},"recs":[${recs}]}`;
}
