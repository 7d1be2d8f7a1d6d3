// Whether a target image can be had, and pulling it before any container is touched.
import type Docker from 'dockerode';
import { isNotFound } from './docker-util';

/** undefined when the image is on the engine or its registry has it; otherwise why not, for a person. */
export async function imageAvailable(docker: Docker, image: string): Promise<string | undefined> {
  try {
    await docker.getImage(image).inspect();
    return undefined;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    // The engine asks the registry for the manifest: the same credentials and mirrors a pull would use.
    await docker.getImage(image).distribution();
    return undefined;
  } catch (err) {
    const e = err as { statusCode?: number; json?: { message?: string }; message: string };
    const said = e.json?.message ?? e.message;
    if (e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 404 || /manifest unknown|not found/i.test(said)) {
      return `the registry has no such image or tag (${said.trim()}); check the version and the repository`;
    }
    return `the registry could not be asked (${said.trim()})`;
  }
}

export interface PullProgress {
  image: string;
  layersDone: number;
  layersTotal: number;
}

/** docker pull with progress callbacks; `signal` aborts the download. */
export async function pullImage(docker: Docker, image: string, onProgress: (p: PullProgress) => void, signal: AbortSignal): Promise<void> {
  const stream = (await docker.pull(image, { abortSignal: signal }).catch((err: Error) => {
    throw new Error(`pull of ${image} failed: ${err.message.trim()}`);
  })) as NodeJS.ReadableStream;
  const layers = new Map<string, boolean>();
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: Array<{ error?: string }>) => {
        const failed = output?.find((o) => o.error);
        if (err) reject(new Error(`pull of ${image} failed: ${err.message.trim()}`));
        else if (failed) reject(new Error(`pull of ${image} failed: ${failed.error}`));
        else resolve();
      },
      (event: { id?: string; status?: string }) => {
        if (!event.id || !event.status) return;
        const done = /Pull complete|Already exists|Download complete/.test(event.status);
        layers.set(event.id, (layers.get(event.id) ?? false) || done);
        onProgress({ image, layersDone: [...layers.values()].filter(Boolean).length, layersTotal: layers.size });
      },
    );
    signal.addEventListener('abort', () => reject(new Error(`pull of ${image} cancelled`)), { once: true });
  });
}
