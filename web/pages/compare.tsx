// Two or more runs side by side: params (differences only by default), per-genre AP and its
// deltas against the first run, AP bars and training curves overlaid.
import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { useJson } from '../api';
import { bars, categoryAxis, Chart, PALETTE } from '../chart';
import { num, pct, short, signedPct, value } from '../format';
import type { Compare } from '../types';
import { TrainingChart } from './run';

export function ComparePageView({ ids }: { ids: string[] }) {
  const { data, error } = useJson<Compare>(`/api/compare?runs=${ids.map(encodeURIComponent).join(',')}`);
  const [diffOnly, setDiffOnly] = useState(true);
  const chart = useMemo(() => {
    if (!data) return null;
    const genres = data.ap.map((g) => g.genre);
    const n = data.runs.length;
    const factor = Math.min(0.8 / n, 0.38);
    const series: uPlot.Series[] = [
      { label: 'genre', value: (_u, v) => (v === null ? '' : (genres[v] ?? '')) },
      ...data.runs.map((r, i) => ({
        label: short(r.id),
        fill: PALETTE[i % PALETTE.length],
        stroke: PALETTE[i % PALETTE.length],
        // Two runs sit left and right of the tick; more are drawn narrower, overlapping.
        paths: bars(n === 2 ? (i === 0 ? -1 : 1) : 0, factor),
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? 'n/a' : v.toFixed(1)),
      })),
    ];
    const d = [genres.map((_, i) => i), ...data.runs.map((_, i) => data.ap.map((g) => (g.values[i] === null ? null : g.values[i]! * 100)))] as unknown as uPlot.AlignedData;
    const o: Omit<uPlot.Options, 'width'> = {
      height: 280,
      scales: { x: { time: false, range: [-0.6, genres.length - 0.4] }, y: { range: [0, 100] } },
      axes: [categoryAxis(genres), { label: 'AP (%)' }],
      series,
    };
    return { o, d };
  }, [data]);
  const lines = useMemo(
    () => (data ? data.runs.flatMap((r) => (r.history.model ? [{ label: short(r.id), history: r.history.model }] : [])) : []),
    [data],
  );
  if (error) return <p class="error" data-testid="error">{error}</p>;
  if (!data) return <p class="loading">loading…</p>;
  const params = data.params.filter((p) => !diffOnly || p.differs);
  return (
    <section data-testid="compare-page">
      <div class="toolbar">
        <h1>Compare {data.runs.length} runs</h1>
      </div>
      <table class="grid">
        <thead>
          <tr>
            <th />
            {data.runs.map((r, i) => (
              <th>
                <a href={`#/run/${r.id}`} class="mono">
                  {short(r.id)}
                </a>
                {i === 0 ? <span class="muted"> (reference)</span> : null}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th>model</th>
            {data.runs.map((r) => (
              <td>{r.model ?? '—'}</td>
            ))}
          </tr>
          <tr data-testid="compare-map">
            <th>mAP</th>
            {data.runs.map((r, i) => (
              <td class="num strong">
                {num(r.mAP)}
                {i > 0 && r.mAP !== null && data.runs[0]!.mAP !== null ? <span class={r.mAP >= data.runs[0]!.mAP! ? 'ok' : 'bad'}> ({signedPct(r.mAP - data.runs[0]!.mAP!)} pts)</span> : null}
              </td>
            ))}
          </tr>
          <tr>
            <th>baseline mAP</th>
            {data.runs.map((r) => (
              <td class="num">{num(r.baseline_mAP)}</td>
            ))}
          </tr>
        </tbody>
      </table>
      <h2>
        Params{' '}
        <label class="toggle">
          <input type="checkbox" checked={diffOnly} onChange={() => setDiffOnly(!diffOnly)} data-testid="diff-only" /> differences only
        </label>
      </h2>
      {params.length === 0 ? <p class="muted">The runs have the same params.</p> : null}
      <table class="grid" data-testid="compare-params">
        <tbody>
          {params.map((p) => (
            <tr class={p.differs ? 'differs' : ''}>
              <th class="mono">{p.key}</th>
              {p.values.map((v) => (
                <td class="mono">{value(v)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Per-genre AP (%) and Δ against {short(data.runs[0]!.id)}</h2>
      <div class="table-wrap">
        <table class="grid" data-testid="compare-ap">
          <thead>
            <tr>
              <th>genre</th>
              {data.runs.map((r, i) => (
                <>
                  <th class="mono">{short(r.id)}</th>
                  {i > 0 ? <th>Δ</th> : null}
                </>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.ap.map((g) => (
              <tr data-genre={g.genre}>
                <th>{g.genre}</th>
                {g.values.map((v, i) => (
                  <>
                    <td class="num">{pct(v)}</td>
                    {i > 0 ? <td class={`num ${(g.deltas[i] ?? 0) > 0 ? 'ok' : (g.deltas[i] ?? 0) < 0 ? 'bad' : ''}`}>{signedPct(g.deltas[i])}</td> : null}
                  </>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {chart ? (
        <div class="card">
          <h3>AP per genre</h3>
          <Chart opts={chart.o} data={chart.d} testId="compare-bars" />
        </div>
      ) : null}
      {lines.length > 0 ? (
        <div class="card">
          <h3>Training curves, overlaid</h3>
          <TrainingChart lines={lines} testId="compare-training" />
        </div>
      ) : null}
    </section>
  );
}
