import { readFileSync } from 'node:fs';

/**
 * Whether `dir` lives on a RAM-backed filesystem, from the mount table (longest matching mount
 * point wins). A Pi image that mounts /var/lib on tmpfs would silently lose the outbox at reboot.
 */
export function isTmpfs(dir: string, readMounts: () => string = () => readFileSync('/proc/mounts', 'utf8')): boolean {
  let table: string;
  try {
    table = readMounts();
  } catch {
    return false;
  }
  let best = '';
  let bestType = '';
  for (const line of table.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (!mountPoint || !fsType) continue;
    const mp = mountPoint.replace(/\\040/g, ' ');
    const within = dir === mp || dir.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (within && mp.length >= best.length) {
      best = mp;
      bestType = fsType;
    }
  }
  return bestType === 'tmpfs' || bestType === 'ramfs';
}
