// Fetching the JSON API (docs/UI.md) and the live feed. The token travels in an HttpOnly
// cookie set on the first visit, so requests need nothing but the same origin.
import { useEffect, useState } from 'preact/hooks';
import type { LiveState } from './types';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body = (await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }))) as T & { error?: string };
  if (!r.ok) throw new HttpError(r.status, body.error ?? `${r.status} ${r.statusText}`);
  return body;
}

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
}

/** Fetches `path` whenever it or `version` changes; keeps the last data while reloading. */
export function useJson<T>(path: string | null, version = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: path !== null });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    getJson<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (e: Error) => live && setState({ error: e.message, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, version]);
  return state;
}

type FeedListener = (event: 'live' | 'runs', data: unknown) => void;
const listeners = new Set<FeedListener>();
let source: EventSource | undefined;
let lastLive: LiveState | null = null;
let lastSeq = -1;

function connect(): void {
  if (source) return;
  source = new EventSource('/api/events');
  source.addEventListener('live', (e) => {
    lastLive = JSON.parse((e as MessageEvent<string>).data) as LiveState | null;
    for (const l of listeners) l('live', lastLive);
  });
  source.addEventListener('runs', (e) => {
    lastSeq = (JSON.parse((e as MessageEvent<string>).data) as { seq: number }).seq;
    for (const l of listeners) l('runs', lastSeq);
  });
}

/** The live run (or null) and the run index's version, from the server-sent events. */
export function useFeed(): { live: LiveState | null; seq: number } {
  const [state, setState] = useState({ live: lastLive, seq: lastSeq });
  useEffect(() => {
    connect();
    const l: FeedListener = () => setState({ live: lastLive, seq: lastSeq });
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return state;
}
