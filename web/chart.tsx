// uPlot in a Preact component: built once per options/data change, resized with its box.
// uPlot draws on canvas and handles curves of many thousands of points; its legend shows the
// values under the cursor (the hover values).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export const PALETTE = ['#1f6feb', '#d97706', '#059669', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777'];

export function Chart(props: { opts: Omit<uPlot.Options, 'width'>; data: uPlot.AlignedData; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(320, el.clientWidth || 640);
    const plot = new uPlot({ ...props.opts, width } as uPlot.Options, props.data, el);
    const ro = new ResizeObserver(() => {
      const w = Math.max(320, el.clientWidth);
      if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height: props.opts.height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [props.opts, props.data]);
  return <div class="chart" ref={box} data-testid={props.testId} />;
}

/** Bars through uPlot's bar path builder; `align` puts two series side by side. */
export function bars(align: -1 | 0 | 1, factor = 0.38): uPlot.Series.PathBuilder {
  return uPlot.paths.bars!({ size: [factor, 40], align });
}

/** An x axis of category labels (genres) at 0, 1, 2, ... */
export function categoryAxis(labels: string[]): uPlot.Axis {
  return {
    space: 4,
    incrs: [1],
    rotate: labels.length > 8 ? -45 : 0,
    size: labels.length > 8 ? 80 : 40,
    values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
    gap: 4,
  };
}
