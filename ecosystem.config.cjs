// pm2 alternative to the systemd unit. Use ONE supervisor, never both: two gateways on the same
// data dir and port would fight over both.
//   pm2 start ecosystem.config.cjs && pm2 save && pm2 startup
module.exports = {
  apps: [
    {
      name: 'tk100b-gateway',
      script: 'dist/cli.js',
      args: 'start -c /etc/tk100b-gateway/config.yaml --data-dir /var/lib/tk100b-gateway',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      // Back off when it keeps failing, instead of hammering the SD card.
      exp_backoff_restart_delay: 1000,
      max_restarts: 20,
      min_uptime: 10000,
      max_memory_restart: '300M',
      // Graceful stop: in-flight records are committed and ACKed before exit.
      kill_timeout: 30000,
      // The same environment as the systemd unit's Environment= lines (test/ops/ecosystem.test.ts).
      env: { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' },
    },
  ],
};
