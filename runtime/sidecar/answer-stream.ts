// Reading a running operation's NDJSON answer on the server's side: heartbeats until the final line, a signing request
// of a dump answered on the way, a watchdog for silence. A stream that ends first means the sidecar died halfway.
import { isAppError } from '../../handlers/errors';
import { failure, protocolError, unreachable } from './client-errors';
import { appErrorFromProblem, type SidecarLine } from './protocol';

export interface AnswerOptions {
  shownUrl: string;
  /** What the operation is called in messages ("dump", "free space check"). */
  during: string;
  /** This long without a byte and the sidecar counts as gone. */
  idleMs: number;
  idle: AbortController;
  signal: AbortSignal | undefined;
  deadline: AbortSignal;
  /** Signs a manifest the sidecar's dump asks for. */
  answerSignature: (id: string, manifest: unknown) => Promise<void>;
  /** Signs an audit line the sidecar asks for, when it is the line this call asked to append. */
  answerAudit: (id: string, entry: unknown) => Promise<void>;
}

export async function readFinalLine<T>(response: Response, options: AnswerOptions): Promise<T> {
  const { shownUrl, during, idleMs, idle, signal, deadline } = options;
  const wait = { signal, deadline, idle: idle.signal };
  if (!response.body) throw unreachable(shownUrl, 'the answer had no body', during);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  // Whatever ends the wait (the caller, the deadline, the watchdog) also ends a read that is stuck.
  const stop = AbortSignal.any([deadline, idle.signal, ...(signal ? [signal] : [])]);
  const stopped = new Promise<never>((_resolve, reject) => {
    const fail = () => reject(failure(shownUrl, stop.reason, wait, during));
    if (stop.aborted) fail();
    else stop.addEventListener('abort', fail, { once: true });
  });
  stopped.catch(() => {}); // observed through the race below
  const arm = () =>
    setTimeout(() => idle.abort(new Error(`no heartbeat for ${Math.round(idleMs / 1000)} s`)), idleMs);
  let watchdog = arm();
  let buffered = '';
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await Promise.race([reader.read(), stopped]);
      } catch (error) {
        throw isAppError(error) ? error : failure(shownUrl, error, wait, during);
      }
      if (chunk.done)
        throw unreachable(shownUrl, 'the connection closed before the operation finished', during);
      clearTimeout(watchdog);
      watchdog = arm();
      buffered += chunk.value;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!text) continue;
        const line = parseLine(text, shownUrl, during);
        if ('result' in line) return line.result as T;
        if ('sign' in line) {
          await options.answerSignature(line.sign.id, line.sign.manifest);
          continue;
        }
        if ('signAudit' in line) {
          await options.answerAudit(line.signAudit.id, line.signAudit.entry);
          continue;
        }
        if ('error' in line) {
          // The sidecar reports the cancel as a failure of its own; the caller asked for it.
          if (signal?.aborted) throw failure(shownUrl, signal.reason, { signal, deadline }, during);
          throw appErrorFromProblem(line.error, `The executor sidecar's ${during} failed.`);
        }
      }
    }
  } finally {
    clearTimeout(watchdog);
    reader.cancel().catch(() => {});
  }
}

function parseLine(text: string, shownUrl: string, during: string): SidecarLine {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null) return value as SidecarLine;
  } catch {
    // fall through
  }
  throw protocolError(shownUrl, during);
}
