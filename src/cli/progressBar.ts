/**
 * A progress bar on stderr, drawn only when stderr is a terminal (so pipes, CI logs and
 * JSON output stay clean); cleared when done.
 *
 * Models no kernel file.
 */
export function progressBar(label: string): (done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  return (done, total) => {
    if (!tty) return;
    const width = 30;
    const filled = Math.round((width * done) / total);
    const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
    process.stderr.write(done < total ? `\r${label} [${bar}] ${done}/${total}` : "\r\x1b[K");
  };
}
