export const short = (id: string): string => id.slice(0, 8);

export function num(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
}

/** 0.8031 -> "80.31" */
export function pct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? 'n/a' : (v * 100).toFixed(digits);
}

export function signedPct(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  const s = (v * 100).toFixed(2);
  if (Number(s) === 0) return '0.00';
  return v > 0 ? `+${s}` : s;
}

export function when(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function secs(s: number | null | undefined): string {
  if (s === null || s === undefined) return '';
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 120) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '?';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${u[i]}`;
}

export function value(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
