// A responder must outlive its log. When whatever reads `serve`'s stdout or
// stderr goes away (a closed pipe, `keyladder serve | head`), the next write
// fails with EPIPE, and an 'error' event nobody listens to would end the
// process: every device would lose its responder over a log line. So the two
// streams get a listener that drops such errors; the lines are lost, the
// answers are not.

let installed = false;

export function surviveClosedOutput(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}
