// Which remote a command uses: --remote URL, else PIPELINE_REMOTE, else `remote:` in
// pipeline.yaml. `s3://bucket/prefix` is a bucket; `file:///path`, an absolute or a relative
// path (from the workspace) is a folder.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { DirRemote } from './dir.js';
import type { EntryPrefix, Remote } from './types.js';

export function remoteUrl(flag: string | undefined, configured: string | undefined): string | undefined {
  const v = flag ?? (process.env.PIPELINE_REMOTE || undefined) ?? configured;
  return v === undefined || v === '' ? undefined : v;
}

export function openRemote(url: string, workspace: string): Remote {
  if (/^s3:\/\//i.test(url)) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
    if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!)) {
      throw new UserError(`remote '${url}' is not a valid S3 URL`, 'write it as s3://bucket/prefix (bucket: 3-63 lowercase letters, digits, dots, hyphens)');
    }
    const [bucket, prefix] = [m[1]!, m[2] ?? ''];
    return new LazyRemote(url, async () => new (await import('./s3.js')).S3Remote(url, bucket, prefix));
  }
  if (/^file:\/\//i.test(url)) return new DirRemote(url, fileURLToPath(url));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new UserError(`remote '${url}' has a scheme this version does not know`, 'use s3://bucket/prefix, file:///path, or a folder path');
  }
  return new DirRemote(url, isAbsolute(url) ? url : resolve(workspace, url));
}

/** The configured remote, or a clear error naming the three ways to set one. */
export function requireRemote(flag: string | undefined, configured: string | undefined, workspace: string): Remote {
  const url = remoteUrl(flag, configured);
  if (url === undefined) {
    throw new UserError('no remote cache is configured', "pass --remote URL, set PIPELINE_REMOTE, or add 'remote: URL' to pipeline.yaml (s3://bucket/prefix or a shared folder; docs/DISTRIBUTED.md)");
  }
  return openRemote(url, workspace);
}

/**
 * An S3 remote whose SDK loads on first use: `status` and `run` open the configured remote
 * without paying for @aws-sdk/client-s3's import (a few hundred ms) unless they talk to it.
 */
class LazyRemote implements Remote {
  readonly url: string;
  readonly #make: () => Promise<Remote>;
  #remote: Promise<Remote> | undefined;

  constructor(url: string, make: () => Promise<Remote>) {
    this.url = url;
    this.#make = make;
  }

  #get(): Promise<Remote> {
    this.#remote ??= this.#make();
    return this.#remote;
  }

  async listObjects() {
    return (await this.#get()).listObjects();
  }
  async getObject(hash: string, dest: string) {
    return (await this.#get()).getObject(hash, dest);
  }
  async putObject(hash: string, src: string, size: number) {
    return (await this.#get()).putObject(hash, src, size);
  }
  async listEntries(prefix: EntryPrefix) {
    return (await this.#get()).listEntries(prefix);
  }
  async getEntry(prefix: EntryPrefix, key: string) {
    return (await this.#get()).getEntry(prefix, key);
  }
  async putEntry(prefix: EntryPrefix, key: string, value: unknown) {
    return (await this.#get()).putEntry(prefix, key, value);
  }
  close(): void {
    void this.#remote?.then((r) => r.close());
  }
}
