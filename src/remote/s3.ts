// A remote cache in an S3-compatible bucket, through the AWS SDK v3 (@aws-sdk/client-s3; large
// objects through @aws-sdk/lib-storage's multipart Upload). Endpoint, region and credentials come
// from the SDK's standard chain (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_PROFILE,
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ...). A custom endpoint (MinIO, Ceph, a test
// server) gets path-style addressing.
//
// An S3 PUT is atomic: the object appears whole or not at all (a multipart upload appears on
// completion). Write-once: callers list first and upload only what is absent, and every PUT
// carries `If-None-Match: *`, which S3 answers with 412 when the key exists; servers that ignore
// the header still never see a different object under a content-addressed key.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UserError } from '../errors.js';
import { isHash, type Hash } from '../hash.js';
import { objectKey, RemoteMissing, type EntryPrefix, type Remote } from './types.js';

/** Objects above this size go up in parts. */
const MULTIPART_FROM = 16 << 20;

export class S3Remote implements Remote {
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;

  constructor(url: string, bucket: string, prefix: string) {
    this.url = url;
    this.bucket = bucket;
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
    // The SDK warns on every command that its releases after January 2027 need Node 22; the
    // versions this package locks support Node 20, so the warning says nothing to our users.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const config: S3ClientConfig = {
      region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // Checksums only where an operation requires them: S3-compatible servers other than AWS
      // often reject the SDK's default CRC32 trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    };
    this.client = new S3Client(config);
  }

  #key(rel: string): string {
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  async #list(rel: string, each: (name: string) => void): Promise<void> {
    const base = this.#key(rel);
    let token: string | undefined;
    do {
      const page = await this.#send(() =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const o of page.Contents ?? []) if (o.Key) each(o.Key.slice(base.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async listObjects(): Promise<Set<Hash>> {
    const out = new Set<Hash>();
    await this.#list('objects/', (name) => {
      const h = name.replace('/', '');
      if (isHash(h)) out.add(h);
    });
    return out;
  }

  async getObject(hash: Hash, dest: string): Promise<void> {
    const res = await this.#send(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(objectKey(hash)) })), hash);
    await pipeline(res.Body as Readable, createWriteStream(dest, { flags: 'wx' }));
  }

  async putObject(hash: Hash, src: string, size: number): Promise<boolean> {
    const params = { Bucket: this.bucket, Key: this.#key(objectKey(hash)), IfNoneMatch: '*' };
    try {
      if (size >= MULTIPART_FROM) {
        await new Upload({ client: this.client, params: { ...params, Body: createReadStream(src) }, partSize: MULTIPART_FROM, queueSize: 2 }).done();
      } else {
        await this.#send(() => this.client.send(new PutObjectCommand({ ...params, Body: createReadStream(src), ContentLength: size })));
      }
      return true;
    } catch (e) {
      if (isPreconditionFailed(e)) return false;
      throw e;
    }
  }

  async listEntries(prefix: EntryPrefix): Promise<Set<string>> {
    const out = new Set<string>();
    await this.#list(`${prefix}/`, (name) => {
      if (name.endsWith('.json')) out.add(name.slice(0, -5));
    });
    return out;
  }

  async getEntry(prefix: EntryPrefix, key: string): Promise<unknown> {
    try {
      const res = await this.#send(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(`${prefix}/${key}.json`) })), key);
      return JSON.parse(await res.Body!.transformToString('utf8')) as unknown;
    } catch (e) {
      if (e instanceof RemoteMissing) return undefined;
      throw e;
    }
  }

  async putEntry(prefix: EntryPrefix, key: string, value: unknown): Promise<boolean> {
    const body = JSON.stringify(value);
    try {
      await this.#send(() =>
        this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.#key(`${prefix}/${key}.json`), Body: body, ContentType: 'application/json', IfNoneMatch: '*' }),
        ),
      );
      return true;
    } catch (e) {
      if (isPreconditionFailed(e)) return false;
      throw e;
    }
  }

  /** Sends a request, turning "no such key" into RemoteMissing and connection trouble into one clear message. */
  async #send<T>(fn: () => Promise<T>, what?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof S3ServiceException && (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404)) {
        if (e.name === 'NoSuchBucket') throw new RemoteError(`bucket '${this.bucket}' does not exist at the remote ${this.url}`, 'create it, or fix the remote URL');
        throw new RemoteMissing(`${what ?? 'key'} is not in the remote ${this.url}`);
      }
      if (isPreconditionFailed(e)) throw e;
      if (e instanceof S3ServiceException) {
        throw new RemoteError(`the remote ${this.url} answered ${e.name} (HTTP ${e.$metadata?.httpStatusCode ?? '?'}): ${e.message}`, 'check the bucket name and the AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE)');
      }
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || (e as Error).name === 'TimeoutError') {
        throw new RemoteError(`cannot reach the remote ${this.url} (${code ?? (e as Error).message})`, 'check AWS_ENDPOINT_URL and the network');
      }
      throw e;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

function isPreconditionFailed(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412);
}

/** A remote that cannot be used as configured: a user error with the fix. */
export class RemoteError extends UserError {}
