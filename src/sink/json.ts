/**
 * Where each record of a batch envelope sits in the envelope's text, so the sink stores the
 * record's JSON as it arrived instead of serializing every parsed record again (that
 * serialization was a fifth of the sink's CPU per record).
 */

/**
 * [start, end) offsets of each element of the top-level `recs` array of `text`, which must be
 * valid JSON (parse it first). Undefined when there is no such array or an element is not an
 * object or array; the caller then serializes instead. A duplicated `recs` key resolves to the
 * last one, as JSON.parse does.
 */
export function recordSpans(text: string): number[] | undefined {
  const n = text.length;
  let depth = 0;
  let i = 0;
  let lastString = -1; // start of the latest string at depth 1: the key when an array follows
  let inRecs = false;
  let elem = -1;
  let spans: number[] | undefined;
  let current: number[] = [];
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Strings are skipped whole; a quote preceded by an odd run of backslashes is escaped.
      let j = text.indexOf('"', i + 1);
      for (;;) {
        if (j < 0) return undefined;
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (depth === 1) lastString = i;
      i = j + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (depth === 1 && c === 0x5b && text.startsWith('"recs"', lastString)) {
        inRecs = true;
        current = [];
      } else if (inRecs && depth === 2) elem = i;
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (inRecs && depth === 2) current.push(elem, i + 1);
      else if (inRecs && depth === 1) {
        inRecs = false;
        spans = current;
      }
    } else if (inRecs && depth === 2 && c !== 0x2c && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
      // A scalar element: not a record.
      return undefined;
    }
    i++;
  }
  return spans;
}
