// The page: a hash router over the runs table, a run, a comparison, the DAG and the live run.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useFeed } from './api';
import { ComparePageView } from './pages/compare';
import { DagPageView } from './pages/dag';
import { LiveBanner, LivePageView } from './pages/live';
import { RunPageView } from './pages/run';
import { RunsPageView } from './pages/runs';

function useHash(): string {
  const [h, setH] = useState(location.hash);
  useEffect(() => {
    const on = () => setH(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return h;
}

function App() {
  const hash = useHash();
  const { live, seq } = useFeed();
  const [selected, setSelected] = useState<string[]>([]);
  const [path] = hash.replace(/^#/, '').split('?');
  const parts = (path || '/').split('/').filter(Boolean);
  let page;
  let tab = 'runs';
  if (parts[0] === 'run' && parts[1]) {
    page = <RunPageView id={decodeURIComponent(parts[1])} key={parts[1]} />;
    tab = '';
  } else if (parts[0] === 'compare') {
    page = <ComparePageView ids={(parts[1] ?? '').split(',').filter(Boolean)} key={parts[1]} />;
    tab = 'compare';
  } else if (parts[0] === 'dag') {
    page = <DagPageView seq={seq} live={live} />;
    tab = 'dag';
  } else if (parts[0] === 'live') {
    page = <LivePageView live={live} />;
    tab = 'live';
  } else page = <RunsPageView seq={seq} selected={selected} setSelected={setSelected} />;
  useEffect(() => {
    // #/run/ID?stage=NAME (the DAG's click-through): scroll to that stage's artifacts.
    const stage = /[?&]stage=([^&]+)/.exec(hash)?.[1];
    if (!stage) return;
    const t = setInterval(() => {
      const el = document.getElementById(`stage-${decodeURIComponent(stage)}`);
      if (el) {
        (el as HTMLDetailsElement).open = true;
        el.scrollIntoView({ block: 'start' });
        clearInterval(t);
      }
    }, 100);
    setTimeout(() => clearInterval(t), 5000);
    return () => clearInterval(t);
  }, [hash]);
  return (
    <>
      <header>
        <a href="#/" class="brand">
          pipeline
        </a>
        <nav>
          <a href="#/" class={tab === 'runs' ? 'on' : ''}>
            Runs
          </a>
          <a href="#/dag" class={tab === 'dag' ? 'on' : ''}>
            DAG
          </a>
          <a href="#/live" class={tab === 'live' ? 'on' : ''}>
            Live{live && !live.ended ? <span class="pulse" /> : null}
          </a>
        </nav>
      </header>
      <LiveBanner live={live} />
      <main>{page}</main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
