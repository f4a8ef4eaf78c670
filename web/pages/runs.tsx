// The runs table: server-side sort, filter and paging (so 1,000 runs arrive as one page of
// rows), rows selectable for comparison.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useJson } from '../api';
import { num, secs, short, value, when } from '../format';
import type { Column, Row, RunsPage } from '../types';

const PAGE = 50;

function cell(row: Row, c: Column) {
  if (c.key === 'run')
    return (
      <a href={`#/run/${row.run}`} class="mono" title={row.run}>
        {short(row.run)}
        {row.identical !== undefined ? <span class="tag" title={`the same results as run ${row.identical}`}>= {short(row.identical)}</span> : null}
      </a>
    );
  if (c.key === 'time') return when(row.time);
  if (c.key === 'ok') return <span class={row.ok ? 'ok' : 'bad'}>{row.ok ? 'ok' : 'failed'}</span>;
  if (c.key === 'seconds') return secs(row.seconds);
  if (c.group === 'param') return value(row.params[c.key.slice(6)]);
  return num(row.metrics[c.key.slice(7)]);
}

export function RunsPageView(props: { seq: number; selected: string[]; setSelected: (s: string[]) => void }) {
  const [sort, setSort] = useState<{ key: string; desc: boolean }>({ key: 'seq', desc: true });
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [offset, setOffset] = useState(0);
  const [genres, setGenres] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => {
      setApplied(filter);
      setOffset(0);
    }, 200);
    return () => clearTimeout(t);
  }, [filter]);
  const qs = new URLSearchParams({ offset: String(offset), limit: String(PAGE), sort: sort.key, desc: sort.desc ? '1' : '0', ...(applied ? { filter: applied } : {}), ...(genres ? { genres: '1' } : {}) });
  const { data, error } = useJson<RunsPage>(`/api/runs?${qs}`, props.seq);
  const best = useMemo(() => {
    // Best value of each metric column on this page, shown in bold.
    const out: Record<string, number> = {};
    for (const c of data?.columns ?? []) {
      if (c.group !== 'metric') continue;
      const vs = (data?.rows ?? []).map((r) => r.metrics[c.key.slice(7)]).filter((v): v is number => typeof v === 'number');
      if (vs.length > 1 && Math.max(...vs) > Math.min(...vs)) out[c.key] = Math.max(...vs);
    }
    return out;
  }, [data]);
  const toggle = (id: string) => props.setSelected(props.selected.includes(id) ? props.selected.filter((x) => x !== id) : [...props.selected, id]);
  const clickSort = (key: string) => setSort((s) => (s.key === key ? { key, desc: !s.desc } : { key, desc: key.startsWith('metric:') }));

  return (
    <section>
      <div class="toolbar">
        <h1>Runs</h1>
        <input
          class="filter"
          placeholder="filter: text, train.lr=0.001, mAP>0.5, failed"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          data-testid="runs-filter"
        />
        <label class="toggle">
          <input type="checkbox" checked={genres} onChange={() => setGenres(!genres)} data-testid="genre-columns" /> AP per genre
        </label>
        <button disabled={props.selected.length < 2} onClick={() => (location.hash = `#/compare/${props.selected.join(',')}`)} data-testid="compare-button">
          Compare {props.selected.length > 0 ? `(${props.selected.length})` : ''}
        </button>
        {props.selected.length > 0 ? <button class="link" onClick={() => props.setSelected([])}>clear selection</button> : null}
      </div>
      {error ? <p class="error">{error}</p> : null}
      {data && data.total === 0 ? <p class="empty">No runs yet: <code>pipeline run</code> records the first.</p> : null}
      {data && data.total > 0 ? (
        <>
          <div class="table-wrap">
            <table class="runs" data-testid="runs-table">
              <thead>
                <tr>
                  <th />
                  {data.columns.map((c) => (
                    <th class={`sortable ${c.group}`} onClick={() => clickSort(c.key)} data-key={c.key} title={`sort by ${c.label}`}>
                      {c.label}
                      {sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.rows.map((r) => (
                  <tr class={props.selected.includes(r.run) ? 'selected' : ''} data-run={r.run}>
                    <td>
                      <input type="checkbox" checked={props.selected.includes(r.run)} onChange={() => toggle(r.run)} aria-label={`select ${r.run}`} />
                    </td>
                    {data.columns.map((c) => (
                      <td class={`${c.group}${best[c.key] !== undefined && r.metrics[c.key.slice(7)] === best[c.key] ? ' best' : ''}`} data-key={c.key}>
                        {cell(r, c)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="pager">
            <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              ‹ previous
            </button>
            <span data-testid="runs-count">
              {data.matched === 0 ? 'no run matches' : `${data.offset + 1}–${data.offset + data.rows.length} of ${data.matched}`}
              {data.matched !== data.total ? ` (filtered from ${data.total})` : ''}
            </span>
            <button disabled={offset + PAGE >= data.matched} onClick={() => setOffset(offset + PAGE)}>
              next ›
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}
