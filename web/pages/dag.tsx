// The stage graph, laid out by dagre: each stage fresh / stale / running / failed, with its
// reasons (the data of `pipeline status --json`), item counts, live progress, and a link to the
// run that holds its latest output.
import { Graph, layout } from '@dagrejs/dagre';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useJson } from '../api';
import { secs, short } from '../format';
import type { LiveState, Status, StatusStage } from '../types';

const W = 204;
const H = 74;

const clip = (t: string, n: number): string => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

function itemsLine(s: StatusStage): string {
  const live = s.live?.items;
  if (s.state === 'running' && live) return `${live.done} / ${live.toRun} items${s.live?.rate ? ` · ${s.live.rate.toFixed(1)}/s` : ''}`;
  if (s.state === 'running' && s.live?.progress?.total) return `${s.live.progress.done ?? 0} / ${s.live.progress.total}`;
  if (s.items) return s.items.stale > 0 ? `${s.items.stale} of ${s.items.total} items to compute` : `${s.items.total} items`;
  return s.kind;
}

export function DagPageView({ seq, live }: { seq: number; live: LiveState | null }) {
  // Re-evaluate when a run is recorded or the live run moves on (at most every 2 s for the latter).
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!live || live.ended) return;
    const t = setInterval(() => setTick((x) => x + 1), 2000);
    return () => clearInterval(t);
  }, [live?.pid, live?.ended]);
  const { data, error } = useJson<Status>('/api/status', seq * 100000 + tick + (live?.ended ? 1 : 0));
  const [picked, setPicked] = useState<string | null>(null);
  const g = useMemo(() => {
    if (!data || data.stages.length === 0) return null;
    const graph = new Graph();
    graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 44, marginx: 12, marginy: 12 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const s of data.stages) graph.setNode(s.name, { width: W, height: H });
    for (const e of data.edges) graph.setEdge(e.from, e.to);
    layout(graph);
    const nodes = data.stages.map((s) => ({ s, ...(graph.node(s.name) as { x: number; y: number }) }));
    const edges = graph.edges().map((e) => ({ e, points: (graph.edge(e) as { points: Array<{ x: number; y: number }> }).points }));
    const gl = graph.graph() as { width?: number; height?: number };
    return { nodes, edges, width: gl.width ?? 600, height: gl.height ?? 300 };
  }, [data]);
  if (error) return <p class="error">{error}</p>;
  if (!data) return <p class="loading">evaluating the stages…</p>;
  if (data.error) return <pre class="error">{data.error}</pre>;
  const sel = data.stages.find((s) => s.name === picked) ?? data.stages.find((s) => s.state !== 'fresh') ?? data.stages[0];
  const stale = data.stages.filter((s) => s.state !== 'fresh').length;
  return (
    <section data-testid="dag-page">
      <div class="toolbar">
        <h1>DAG</h1>
        <span class="muted" data-testid="dag-summary">
          {stale === 0 ? 'everything is up to date' : `${stale} of ${data.stages.length} stages not fresh`} · today's pipeline.yaml and conf
        </span>
        <span class="legend">
          <i class="st-fresh" /> fresh <i class="st-stale" /> stale <i class="st-running" /> running <i class="st-failed" /> failed
        </span>
      </div>
      {g ? (
        <div class="dag-wrap">
          <svg width="100%" style={{ maxWidth: `${g.width}px` }} viewBox={`0 0 ${g.width} ${g.height}`} class="dag" data-testid="dag-svg">
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" fill="#8b949e" />
              </marker>
            </defs>
            {g.edges.map(({ points }) => (
              <path d={`M ${points.map((p) => `${p.x} ${p.y}`).join(' L ')}`} class="edge" marker-end="url(#arrow)" />
            ))}
            {g.nodes.map(({ s, x, y }) => (
              <g class={`node st-${s.state}${sel?.name === s.name ? ' picked' : ''}`} transform={`translate(${x - W / 2}, ${y - H / 2})`} onClick={() => setPicked(s.name)} data-stage={s.name} data-state={s.state}>
                <rect width={W} height={H} rx="8" />
                <text x="12" y="22" class="name">
                  {s.name}
                </text>
                <text x={W - 12} y="22" class="state" text-anchor="end">
                  {s.state}
                </text>
                <text x="12" y="44" class="sub">
                  {itemsLine(s)}
                </text>
                <text x="12" y="62" class="sub reason">
                  {clip(s.reasons[0] ?? (s.last ? `last run: ${s.last.state} in ${secs(s.last.seconds)}` : ''), 32)}
                </text>
                {s.state === 'running' && s.live?.items && s.live.items.toRun > 0 ? <rect class="bar" x="0" y={H - 4} height="4" width={(W * s.live.items.done) / s.live.items.toRun} /> : null}
              </g>
            ))}
          </svg>
        </div>
      ) : null}
      {sel ? (
        <div class="card" data-testid="dag-detail">
          <h3>
            {sel.name} <span class={`pill st-${sel.state}`}>{sel.state}</span> <span class="muted">{sel.cmd ? `cmd: ${sel.cmd}` : `uses ${sel.kind}`}</span>
          </h3>
          {sel.reasons.length > 0 ? (
            <ul class="reasons" data-testid="dag-reasons">
              {sel.reasons.map((r) => (
                <li>{r}</li>
              ))}
            </ul>
          ) : (
            <p class="muted">fresh: its cached result matches today's code, params and inputs.</p>
          )}
          {sel.items ? (
            <p>
              items: {sel.items.total} in all, {sel.items.stale} to compute
            </p>
          ) : null}
          {sel.live?.progress?.message ? <p class="mono">{sel.live.progress.message}</p> : null}
          {sel.last ? (
            <p>
              last run <a href={`#/run/${sel.last.run}`}>{short(sel.last.run)}</a>: {sel.last.state} in {secs(sel.last.seconds)}
              {sel.last.items ? ` (${sel.last.items.ran} ran, ${sel.last.items.cached} cached, ${sel.last.items.failed} failed)` : ''}
            </p>
          ) : null}
          {sel.output ? (
            <p>
              <a href={`#/run/${sel.output.run}?stage=${sel.name}`} data-testid="dag-output-link">
                latest output: run {short(sel.output.run)} → {sel.name}
              </a>
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
