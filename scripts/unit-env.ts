/**
 * The environment the systemd unit gives the gateway (its `Environment=` lines), so the bench
 * starts the gateway as production does and a test holds the pm2 file to the same values.
 */
export function unitEnvironment(unitText: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitText.split('\n')) {
    const m = /^Environment=(.*)$/.exec(line.trim());
    if (!m) continue;
    // systemd: space-separated assignments, each optionally double-quoted.
    for (const part of (m[1] ?? '').match(/"[^"]*"|\S+/g) ?? []) {
      const assignment = part.startsWith('"') ? part.slice(1, -1) : part;
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}
