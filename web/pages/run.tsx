// One run: headline beside its baseline and the published figures, the per-genre table,
// charts (AP bars, PR curves, training curves), params, stages and artifacts.
import { useMemo, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { useJson } from '../api';
import { bars, categoryAxis, Chart, PALETTE } from '../chart';
import { bytes, num, pct, secs, short, value, when } from '../format';
import type { Curve, History, RunDetail, StageDetail } from '../types';

function ApBars({ run }: { run: RunDetail }) {
  const m = run.metrics!;
  const genres = m.per_genre.map((g) => g.genre);
  const [opts, data] = useMemo(() => {
    const x = genres.map((_, i) => i);
    const ours = m.per_genre.map((g) => (g.ap === null ? null : g.ap * 100));
    const base = genres.map((g) => {
      const b = m.baseline?.per_genre.find((r) => r.genre === g)?.ap;
      return b === null || b === undefined ? null : b * 100;
    });
    const pub = run.published.map((p) => genres.map((g) => p.rows[g]?.ap ?? null));
    const series: uPlot.Series[] = [
      { label: 'genre', value: (_u, v) => (v === null ? '' : (genres[v] ?? '')) },
      { label: `${m.model} (this run)`, fill: PALETTE[0], stroke: PALETTE[0], paths: bars(-1), points: { show: false }, value: (_u, v) => (v === null ? 'n/a' : v.toFixed(1)) },
      ...(m.baseline ? [{ label: `baseline ${m.baseline.model}`, fill: '#9ca3af', stroke: '#6b7280', paths: bars(1), points: { show: false }, value: (_u: uPlot, v: number | null) => (v === null ? 'n/a' : v.toFixed(1)) }] : []),
      ...run.published.map((p, i) => ({ label: p.short, stroke: PALETTE[2 + i], paths: () => null, points: { show: true, size: 9, fill: PALETTE[2 + i] }, value: (_u: uPlot, v: number | null) => (v === null ? 'n/a' : v.toFixed(1)) })),
    ];
    const d = [x, ours, ...(m.baseline ? [base] : []), ...pub] as unknown as uPlot.AlignedData;
    const o: Omit<uPlot.Options, 'width'> = {
      height: 300,
      scales: { x: { time: false, range: [-0.6, genres.length - 0.4] }, y: { range: [0, 100] } },
      axes: [categoryAxis(genres), { label: 'AP (%)' }],
      series,
      legend: { live: true },
    };
    return [o, d];
  }, [run]);
  return <Chart opts={opts} data={data} testId="ap-bars" />;
}

const stepped = uPlot.paths.stepped!({ align: -1 });

function PrCurves({ curves }: { curves: NonNullable<RunDetail['curves']> }) {
  const withPos = curves.model.filter((c) => c.recall.length > 0);
  const [genre, setGenre] = useState(withPos[0]?.genre ?? '');
  const c = curves.model.find((x) => x.genre === genre);
  const b = curves.baseline?.find((x) => x.genre === genre);
  const [opts, data] = useMemo(() => {
    // uPlot shares one x per chart: the two curves are joined on the union of their recalls.
    const lines: Curve[] = [c, b].filter((x): x is Curve => x !== undefined && x.recall.length > 0);
    const xs = [...new Set(lines.flatMap((l) => l.recall))].sort((a, z) => a - z);
    const ys = lines.map((l) => {
      const at = new Map<number, number>();
      l.recall.forEach((r, i) => at.set(r, l.precision[i]!));
      return xs.map((x) => at.get(x) ?? null);
    });
    const o: Omit<uPlot.Options, 'width'> = {
      height: 280,
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1.02] } },
      axes: [{ label: 'recall' }, { label: 'precision' }],
      series: [
        { label: 'recall', value: (_u, v) => (v === null ? '' : v.toFixed(3)) },
        ...lines.map((l, i) => ({
          label: `${i === 0 ? 'this run' : 'baseline'} (AP ${pct(l.ap, 1)})`,
          stroke: i === 0 ? PALETTE[0] : '#6b7280',
          width: 2,
          dash: i === 0 ? [] : [6, 4],
          spanGaps: true,
          // Precision holds from the previous recall up to this one (the step-wise AP).
          paths: stepped,
          value: (_u: uPlot, v: number | null) => (v === null ? '' : v.toFixed(3)),
        })),
      ],
    };
    return [o, [xs, ...ys] as unknown as uPlot.AlignedData];
  }, [genre, curves]);
  return (
    <div>
      <div class="chips">
        {curves.model.map((g) => (
          <button class={`chip${g.genre === genre ? ' on' : ''}`} disabled={g.recall.length === 0} title={g.recall.length === 0 ? 'no positive movies in the split' : ''} onClick={() => setGenre(g.genre)}>
            {g.genre}
          </button>
        ))}
      </div>
      {c && c.recall.length > 0 ? <Chart opts={opts} data={data} testId="pr-curve" /> : <p class="empty">No genre with positive movies.</p>}
    </div>
  );
}

export function TrainingChart({ lines, testId }: { lines: Array<{ label: string; history: History }>; testId?: string }) {
  const [opts, data] = useMemo(() => {
    const max = Math.max(0, ...lines.map((l) => l.history.epochs.length));
    const x = Array.from({ length: max }, (_, i) => i + 1);
    const series: uPlot.Series[] = [{ label: 'epoch' }];
    const cols: Array<Array<number | null>> = [];
    lines.forEach((l, i) => {
      const at = (k: 'train_loss' | 'val_loss' | 'val_map') => x.map((e) => l.history.epochs.find((p) => p.epoch === e)?.[k] ?? null);
      const color = PALETTE[i % PALETTE.length];
      const add = (k: 'train_loss' | 'val_loss' | 'val_map', s: uPlot.Series): void => {
        const col = at(k);
        if (col.every((v) => v === null)) return; // e.g. no validation split, or the live feed (no val loss)
        series.push(s);
        cols.push(col);
      };
      add('train_loss', { label: `${l.label} train loss`, stroke: color, width: 2, scale: 'loss', value: (_u, v) => num(v) });
      add('val_loss', { label: `${l.label} val loss`, stroke: color, dash: [2, 3], scale: 'loss', value: (_u, v) => num(v) });
      add('val_map', { label: `${l.label} val mAP`, stroke: color, dash: [8, 4], width: 2, scale: 'map', value: (_u, v) => num(v) });
    });
    const o: Omit<uPlot.Options, 'width'> = {
      height: 260,
      scales: { x: { time: false }, map: { range: [0, 1] } },
      axes: [{ label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, { scale: 'loss', label: 'loss' }, { scale: 'map', side: 1, label: 'val mAP', grid: { show: false } }],
      series,
    };
    return [o, [x, ...cols] as unknown as uPlot.AlignedData];
  }, [lines]);
  return <Chart opts={opts} data={data} testId={testId ?? 'training-curves'} />;
}

function Params({ params }: { params: Record<string, unknown> }) {
  const [q, setQ] = useState('');
  const keys = Object.keys(params).filter((k) => k.includes(q));
  return (
    <div>
      <input class="filter small" placeholder="filter params" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      <table class="kv">
        <tbody>
          {keys.map((k) => (
            <tr>
              <th>{k}</th>
              <td class="mono">{value(params[k])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Stages({ stages }: { stages: StageDetail[] }) {
  return (
    <table class="grid" data-testid="stages-table">
      <thead>
        <tr>
          <th>stage</th>
          <th>kind</th>
          <th>state</th>
          <th>time</th>
          <th>items (ran / cached / failed)</th>
          <th>failures</th>
        </tr>
      </thead>
      <tbody>
        {stages.map((s) => (
          <tr>
            <td>
              <a href={`#stage-${s.name}`}>{s.name}</a>
            </td>
            <td>{s.uses ?? <code title={s.cmd}>cmd</code>}</td>
            <td class={`state-${s.state}`}>{s.state}</td>
            <td>{secs(s.seconds)}</td>
            <td>{s.items ? `${s.items.total} (${s.items.ran} / ${s.items.cached} / ${s.items.failed})` : ''}</td>
            <td>
              {s.error ? <div class="bad">{s.error.split('\n')[0]}</div> : null}
              {s.failures.map((f) => (
                <div class="bad">
                  movie {f.item}: {f.file ? `${f.file}: ` : ''}
                  {f.message}
                  {f.hint ? ` (${f.hint})` : ''}
                </div>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Artifacts({ stages }: { stages: StageDetail[] }) {
  return (
    <div>
      {stages
        .filter((s) => s.output)
        .map((s) => (
          <details id={`stage-${s.name}`} open={s.output!.fileCount <= 12 || location.hash.includes(`stage=${s.name}`)}>
            <summary>
              <b>{s.name}</b> — {s.output!.type === 'collection' ? `${s.output!.items} items, ` : ''}
              {s.output!.fileCount} files, {s.output!.bytesCounted ? 'at least ' : ''}
              {bytes(s.output!.bytes)} <span class="mono muted">{s.output!.root}</span>
            </summary>
            <table class="grid files">
              <tbody>
                {s.output!.files.map((f) => (
                  <tr>
                    <td class="mono">{f.path}</td>
                    <td class="num">{bytes(f.size)}</td>
                    <td class="mono">{f.npy ? `${f.npy.dtype} [${f.npy.shape.join(', ')}]` : ''}</td>
                    <td>
                      <a href={f.url} download>
                        download
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {s.output!.files.length < s.output!.fileCount ? <p class="muted">first {s.output!.files.length} of {s.output!.fileCount} files</p> : null}
          </details>
        ))}
    </div>
  );
}

function GenreTable({ run }: { run: RunDetail }) {
  const m = run.metrics!;
  return (
    <table class="grid genres" data-testid="genre-table">
      <thead>
        <tr>
          <th rowSpan={2}>genre</th>
          <th rowSpan={2}>n</th>
          <th colSpan={3}>{m.model} (this run)</th>
          {m.baseline ? <th rowSpan={2}>baseline AP</th> : null}
          {run.published.map((p) => (
            <th colSpan={3} title={p.label}>
              {p.short} (published)
            </th>
          ))}
        </tr>
        <tr>
          <th>P@{m.threshold}</th>
          <th>R@{m.threshold}</th>
          <th>AP</th>
          {run.published.map(() => (
            <>
              <th>P</th>
              <th>R</th>
              <th>AP</th>
            </>
          ))}
        </tr>
      </thead>
      <tbody>
        {m.per_genre.map((g) => {
          const b = m.baseline?.per_genre.find((x) => x.genre === g.genre);
          return (
            <tr data-genre={g.genre}>
              <th>{g.genre}</th>
              <td class="num">{g.support}</td>
              <td class="num">{pct(g.precision)}</td>
              <td class="num">{pct(g.recall)}</td>
              <td class="num strong">{pct(g.ap)}</td>
              {m.baseline ? <td class="num">{pct(b?.ap)}</td> : null}
              {run.published.map((p) => {
                const r = p.rows[g.genre];
                return (
                  <>
                    <td class="num muted">{r ? r.precision.toFixed(2) : '—'}</td>
                    <td class="num muted">{r ? r.recall.toFixed(2) : '—'}</td>
                    <td class="num muted">{r?.ap === null || r === undefined ? 'n/a' : r.ap.toFixed(2)}</td>
                  </>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function RunPageView({ id }: { id: string }) {
  const { data: run, error } = useJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`);
  if (error) return <p class="error" data-testid="error">{error}</p>;
  if (!run) return <p class="loading">loading run {id}…</p>;
  const m = run.metrics;
  const history = [
    ...(run.history.model ? [{ label: m?.model ?? 'model', history: run.history.model }] : []),
    ...(run.history.baseline ? [{ label: `baseline ${m?.baseline?.model ?? ''}`.trim(), history: run.history.baseline }] : []),
  ];
  return (
    <section data-testid="run-page">
      <div class="toolbar">
        <h1>
          Run <span class="mono" data-testid="run-id">{run.id}</span>
        </h1>
        <span class={run.ok ? 'ok' : 'bad'}>{run.ok ? 'ok' : 'failed'}</span>
        <span class="muted">
          #{run.seq} · {when(run.time)} · {secs(run.seconds)} · targets {run.targets.join(', ')}
        </span>
      </div>
      {m ? (
        <div class="headline" data-testid="headline">
          <div class="big">
            <span class="label">mAP</span>
            <span class="value" data-testid="map">{num(m.mAP)}</span>
            <span class="muted">
              {m.model} on {m.split}, {m.movies} movies
            </span>
          </div>
          {m.baseline ? (
            <div class="big">
              <span class="label">baseline</span>
              <span class="value">{num(m.baseline.mAP)}</span>
              <span class={`muted ${m.mAP !== null && m.baseline.mAP !== null ? (m.mAP >= m.baseline.mAP ? 'ok' : 'bad') : ''}`}>
                {m.baseline.model}
                {m.mAP !== null && m.baseline.mAP !== null ? ` · ${m.mAP >= m.baseline.mAP ? '+' : ''}${(m.mAP - m.baseline.mAP).toFixed(3)}` : ''}
              </span>
            </div>
          ) : null}
          {run.published.map((p) => (
            <div class="big">
              <span class="label">{p.short}</span>
              <span class="value">{p.meanAp === null ? 'n/a' : (p.meanAp / 100).toFixed(3)}</span>
              <span class="muted">published mean AP</span>
            </div>
          ))}
          <div class="big">
            <span class="label">micro AP · weighted F1</span>
            <span class="value small">
              {num(m.micro_ap)} · {num(m.weighted_f1)}
            </span>
          </div>
        </div>
      ) : (
        <p class="muted">This run has no metrics (its targets: {run.targets.join(', ')}).</p>
      )}
      {m?.notes.map((n) => <p class="note">{n}</p>)}
      {m ? (
        <>
          <h2>Per-genre figures</h2>
          <p class="muted">P / R / AP in %, this run beside the published figures (measured on other splits and data: a guide, not a like-for-like comparison).</p>
          <div class="table-wrap">
            <GenreTable run={run} />
          </div>
          <div class="charts">
            <div class="card">
              <h3>Average precision per genre</h3>
              <ApBars run={run} />
            </div>
            {run.curves ? (
              <div class="card">
                <h3>Precision-recall</h3>
                <PrCurves curves={run.curves} />
              </div>
            ) : null}
          </div>
        </>
      ) : null}
      {history.length > 0 ? (
        <div class="card">
          <h3>Training</h3>
          <TrainingChart lines={history} />
        </div>
      ) : null}
      <h2>Stages</h2>
      <Stages stages={run.stages} />
      <h2>Artifacts</h2>
      <Artifacts stages={run.stages} />
      <h2>Params</h2>
      <Params params={run.params} />
      <p class="muted">versions: {Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join(', ')}</p>
    </section>
  );
}
