// Redis for BullMQ: one clear line for a wrong URL or an unreachable server, and the one
// setting BullMQ cannot live without (maxmemory-policy noeviction: an evicted job key is a lost
// job) checked before anything is queued.
import { Redis, type RedisOptions } from 'ioredis';
import { UserError } from '../errors.js';

export function redisUrl(flag: string | undefined, configured: string | undefined): string | undefined {
  const v = flag ?? (process.env.PIPELINE_REDIS || undefined) ?? configured;
  return v === undefined || v === '' ? undefined : v;
}

export function requireRedisUrl(flag: string | undefined, configured: string | undefined): string {
  const url = redisUrl(flag, configured);
  if (url === undefined) {
    throw new UserError('the bullmq executor needs a Redis server', "pass --redis URL, set PIPELINE_REDIS, or add 'redis: URL' to pipeline.yaml (e.g. redis://127.0.0.1:6379)");
  }
  return url;
}

/** Connection options for BullMQ's own clients (workers need maxRetriesPerRequest: null). */
export function bullConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
}

export function newRedis(url: string, opts: RedisOptions = {}): Redis {
  if (!/^rediss?:\/\//i.test(url)) {
    throw new UserError(`'${url}' is not a Redis URL`, 'write it as redis://HOST:PORT (or rediss:// for TLS), e.g. redis://127.0.0.1:6379');
  }
  return new Redis(url, { maxRetriesPerRequest: null, ...opts });
}

/** Connects once (no endless retries), checks the eviction policy, and closes. */
export async function checkRedis(url: string): Promise<void> {
  const client = newRedis(url, { lazyConnect: true, connectTimeout: 3000, retryStrategy: () => null, maxRetriesPerRequest: 1 });
  let lastError: NodeJS.ErrnoException | undefined;
  client.on('error', (e: NodeJS.ErrnoException) => (lastError ??= e));
  try {
    try {
      await client.connect();
      await client.ping();
    } catch (e) {
      // ioredis rejects with "Connection is closed"; the socket's own error says why.
      const err = lastError ?? (e as NodeJS.ErrnoException);
      throw new UserError(`cannot reach Redis at ${url} (${err.code ?? err.message})`, 'start redis-server there, or fix --redis / PIPELINE_REDIS / redis: in pipeline.yaml');
    }
    let policy: string | undefined;
    try {
      const r = (await client.config('GET', 'maxmemory-policy')) as string[];
      policy = r[1];
    } catch {
      // CONFIG disabled (some managed services): nothing to check here; BullMQ warns itself.
    }
    if (policy !== undefined && policy !== 'noeviction') {
      throw new UserError(
        `Redis at ${url} has maxmemory-policy ${policy}: it may evict queued jobs, and BullMQ needs noeviction`,
        `run \`redis-cli -u ${url} CONFIG SET maxmemory-policy noeviction\` and put 'maxmemory-policy noeviction' in redis.conf`,
      );
    }
  } finally {
    client.disconnect();
  }
}
