// The e2e world of the notification tests: the task has one [[notify]] channel to an HTTP receiver of the test's
// own (`notify`: more keys of that channel), and the first admin is bootstrapped.
import { startE2eWorld, type E2eWorld } from './e2e-world';
import { startHttpReceiver, type HttpReceiver } from './notify-receivers';

export async function startNotifyWorld(options: {
  prefix: string;
  notify?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{ world: E2eWorld; http: HttpReceiver }> {
  const http = await startHttpReceiver();
  const world = await startE2eWorld({
    prefix: options.prefix,
    task: `scheduled = false\n[[notify]]\nurl = "${http.url}/hook"\n${options.notify ?? ''}`,
    ...(options.env ? { env: options.env } : {}),
  });
  await world.bootstrapAdmin();
  return { world, http };
}

/** The server first (it sends to the receiver), then the receiver; what was never started is passed over. */
export async function stopNotifyWorld(
  world: E2eWorld | undefined,
  http: HttpReceiver | undefined,
): Promise<void> {
  await world?.stop();
  await http?.close();
}
