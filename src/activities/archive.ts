// Files in and out of containers through the Docker archive API (GET/PUT /containers/{id}/archive),
// which works on stopped containers and remote engines alike.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { isNotFound } from './docker-util';

/** The tar of a path inside a container; undefined when the path does not exist there. */
export async function readArchive(docker: Docker, container: string, path: string): Promise<Buffer | undefined> {
  try {
    const stream = (await docker.getContainer(container).getArchive({ path })) as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Put a tar made by readArchive back at the parent folder of the path it came from. */
export async function writeArchive(docker: Docker, container: string, path: string, tar: Buffer): Promise<void> {
  const parent = path.replace(/\/[^/]+\/?$/, '') || '/';
  await docker.getContainer(container).putArchive(tar, { path: parent });
}

/** Every regular file in a tar with its content, keyed by its name inside the tar. */
export async function tarEntries(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return files;
}

/** The same tar with its single top-level file renamed (a bind-mounted file may have another name on the host). */
export async function renameTarFile(tar: Buffer, name: string): Promise<Buffer> {
  const out = pack();
  const ex = extract();
  const chunks: Buffer[] = [];
  out.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    out.on('error', reject);
    ex.on('error', reject);
  });
  ex.on('entry', (header, stream, next) => {
    const body: Buffer[] = [];
    stream.on('data', (c: unknown) => body.push(c as Buffer));
    stream.on('end', () => {
      out.entry({ ...header, name: header.type === 'file' ? name : header.name }, Buffer.concat(body), next);
    });
  });
  ex.on('finish', () => out.finalize());
  ex.end(tar);
  await done;
  return Buffer.concat(chunks);
}

/** Every regular file in a tar with its content's sha256. */
export async function tarFileHashes(tar: Buffer): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const [name, content] of await tarEntries(tar)) hashes[name] = sha256(content);
  return hashes;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
