/** A progress bar on a terminal (events/s and ETA), plain lines every few seconds elsewhere. */
let lastPlainLine = 0;

export function progressLine(label: string, done: number, total: number, elapsedMs: number): void {
  const rate = done / Math.max(elapsedMs / 1000, 0.001);
  const eta = rate > 0 ? Math.max(total - done, 0) / rate : 0;
  const fraction = total > 0 ? Math.min(done / total, 1) : 1;
  const stats = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} events  ${Math.round(rate).toLocaleString('en-US')} events/s  ETA ${formatSeconds(eta)}`;
  if (process.stdout.isTTY) {
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stdout.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}%  ${stats}   `);
    return;
  }
  const now = Date.now();
  if (now - lastPlainLine > 2000 || done >= total) {
    lastPlainLine = now;
    process.stdout.write(`${label}: ${(fraction * 100).toFixed(1)}%  ${stats}\n`);
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
}
