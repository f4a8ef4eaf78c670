// The run going on in the workspace, from its live feed (cache/live.json, streamed as
// server-sent events): stages, item progress with rate and ETA, training epochs as they end.
import { useMemo } from 'preact/hooks';
import { secs, short } from '../format';
import type { History, LiveStage, LiveState } from '../types';
import { TrainingChart } from './run';

function eta(s: LiveStage): string {
  if (s.eta === undefined || !Number.isFinite(s.eta)) return '';
  return ` · ETA ${secs(s.eta)}`;
}

export function stageProgress(s: LiveStage): string {
  if (s.state === 'running' && s.items && s.items.toRun > 0) return `${s.items.done}/${s.items.toRun} items${s.rate ? ` · ${s.rate.toFixed(1)}/s` : ''}${eta(s)}`;
  if (s.state === 'running' && s.progress?.message) return s.progress.message;
  // A stage without items (train) keeps its last line once it ends: where training stopped.
  if (!s.items && s.progress?.message) return s.progress.message;
  if (s.items) return `${s.items.total ?? s.items.toRun} items${s.items.failed ? `, ${s.items.failed} failed` : ''}`;
  return '';
}

export function LiveBanner({ live }: { live: LiveState | null }) {
  if (!live) return null;
  if (live.ended) {
    if (Date.now() - live.updated > 10 * 60_000) return null;
    return (
      <div class={`banner ${live.ended.ok ? 'done' : 'failed'}`} data-testid="live-banner">
        {live.ended.interrupted ? 'the last run was interrupted' : live.ended.ok ? 'run finished' : 'run failed'}
        {live.ended.run ? (
          <>
            {' '}
            · <a href={`#/run/${live.ended.run}`}>{short(live.ended.run)}</a>
          </>
        ) : null}
      </div>
    );
  }
  const current = live.stages.filter((s) => s.state === 'running');
  const done = live.stages.filter((s) => !['pending', 'running'].includes(s.state)).length;
  return (
    <div class="banner running" data-testid="live-banner">
      <span class="pulse" /> running: {done}/{live.stages.length} stages done
      {current.map((s) => (
        <span>
          {' '}
          · <b>{s.name}</b> {stageProgress(s)}
        </span>
      ))}{' '}
      · <a href="#/live">watch</a>
    </div>
  );
}

export function LivePageView({ live }: { live: LiveState | null }) {
  const lines = useMemo(() => {
    const out: Array<{ label: string; history: History }> = [];
    for (const s of live?.stages ?? []) {
      const byModel = new Map<string, History>();
      for (const e of s.epochs ?? []) {
        let h = byModel.get(e.model);
        if (!h) byModel.set(e.model, (h = { epochs: [] }));
        h.epochs.push({ epoch: e.epoch, train_loss: e.train_loss, val_map: e.val_map });
      }
      for (const [model, h] of byModel) out.push({ label: model, history: h });
    }
    return out;
  }, [live?.updated]);
  if (!live) return <p class="empty" data-testid="live-page">No run has published progress in this workspace yet: start <code>pipeline run</code> and watch it here.</p>;
  return (
    <section data-testid="live-page">
      <div class="toolbar">
        <h1>Live</h1>
        <span class="muted">
          pid {live.pid}, started {new Date(live.started).toLocaleTimeString()} ·{' '}
          {live.ended ? (live.ended.interrupted ? 'interrupted' : live.ended.ok ? 'finished' : 'failed') : 'running'}
          {live.ended?.run ? (
            <>
              {' '}
              · <a href={`#/run/${live.ended.run}`}>run {short(live.ended.run)}</a>
            </>
          ) : null}
        </span>
      </div>
      <table class="grid" data-testid="live-stages">
        <tbody>
          {live.stages.map((s) => {
            const frac = s.items && s.items.toRun > 0 ? s.items.done / s.items.toRun : s.progress?.total ? (s.progress.done ?? 0) / s.progress.total : s.state === 'pending' ? 0 : 1;
            return (
              <tr data-stage={s.name} data-state={s.state}>
                <th>{s.name}</th>
                <td class={`state-${s.state}`}>{s.state}</td>
                <td class="progress-cell">
                  <div class="progress">
                    <div style={{ width: `${Math.round(Math.min(1, frac) * 100)}%` }} />
                  </div>
                </td>
                <td class="live-text">{stageProgress(s)}</td>
                <td>{s.seconds !== undefined ? secs(s.seconds) : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {lines.length > 0 ? (
        <div class="card">
          <h3>Training epochs</h3>
          <TrainingChart lines={lines} testId="live-training" />
        </div>
      ) : null}
      {live.log.length > 0 ? (
        <pre class="log">{live.log.slice(-12).join('\n')}</pre>
      ) : null}
    </section>
  );
}
