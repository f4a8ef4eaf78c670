// `pipeline push [RUN...]` and `pipeline pull [RUN...]`: share runs through a remote cache.
import { Engine } from '../engine/index.js';
import { RemoteCache } from '../remote/cache.js';
import { openRemote, remoteUrl, requireRemote } from '../remote/open.js';
import { pull, push, resolveRemoteRuns, type SyncSummary } from '../remote/sync.js';
import { transferProgress } from '../ui/transfer.js';
import { formatBytes, formatSeconds, openProject, type ProjectOptions } from './common.js';

export interface RemoteCommandOptions extends ProjectOptions {
  remote?: string;
  json?: boolean;
}

export function openRemoteCache(engine: Engine, flag: string | undefined): RemoteCache {
  return new RemoteCache(requireRemote(flag, engine.project.settings?.remote, engine.project.root), engine.store);
}

/** The remote cache where one is configured (flag, PIPELINE_REMOTE, pipeline.yaml), else undefined. */
export function optionalRemoteCache(engine: Engine, flag: string | undefined): RemoteCache | undefined {
  const url = remoteUrl(flag, engine.project.settings?.remote);
  return url === undefined ? undefined : new RemoteCache(openRemote(url, engine.project.root), engine.store);
}

function report(verb: 'pushed' | 'pulled', s: SyncSummary, url: string, json: boolean | undefined): void {
  const moved = verb === 'pushed' ? 'sent' : 'received';
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        runs: s.runs,
        objects: { [moved]: s.objects.sent ?? s.objects.received ?? 0, present: s.objects.present },
        results: { [moved]: s.results.sent ?? s.results.received ?? 0, present: s.results.present },
        bytes: s.bytes,
        seconds: s.seconds,
      })}\n`,
    );
    return;
  }
  const n = s.objects.sent ?? s.objects.received ?? 0;
  const rate = s.seconds > 0 ? ` (${(n / s.seconds).toFixed(0)} objects/s)` : '';
  process.stdout.write(
    `${verb} ${s.runs.length === 1 ? `run ${s.runs[0]}` : `${s.runs.length} runs`} ${verb === 'pushed' ? 'to' : 'from'} ${url}: ` +
      `${n} objects ${moved} (${formatBytes(s.bytes)}), ${s.objects.present} already there; ` +
      `${s.results.sent ?? s.results.received ?? 0} result entries ${moved}; ${formatSeconds(s.seconds)}${rate}\n`,
  );
}

export async function pushCommand(runs: string[], opts: RemoteCommandOptions): Promise<number> {
  const engine = new Engine(openProject(opts));
  try {
    const cache = openRemoteCache(engine, opts.remote);
    try {
      const bar = transferProgress('push');
      const ids = runs.length > 0 ? runs : ['latest'];
      const s = await push(engine, cache, ids, bar.update).finally(bar.done);
      report('pushed', s, cache.remote.url, opts.json);
      return 0;
    } finally {
      cache.close();
    }
  } finally {
    engine.close();
  }
}

export async function pullCommand(runs: string[], opts: RemoteCommandOptions): Promise<number> {
  const engine = new Engine(openProject(opts));
  try {
    const cache = openRemoteCache(engine, opts.remote);
    try {
      const rows = await resolveRemoteRuns(cache, runs);
      const bar = transferProgress('pull');
      const s = await pull(engine, cache, rows, bar.update).finally(bar.done);
      report('pulled', s, cache.remote.url, opts.json);
      return 0;
    } finally {
      cache.close();
    }
  } finally {
    engine.close();
  }
}
