// Small graph helpers over stage names. The graph is tiny (a handful of stages); clarity wins.

/** Returns a cycle as a path that starts and ends at the same node (each node depends on the next), or undefined. */
export function findCycle(nodes: readonly string[], deps: (n: string) => readonly string[]): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    const s = state.get(n);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of deps(n)) {
      if (!nodes.includes(d)) continue;
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/** The targets and everything they depend on, in the given topological order. */
export function withAncestors(order: readonly string[], targets: readonly string[], deps: (n: string) => readonly string[]): string[] {
  const need = new Set<string>();
  const add = (n: string): void => {
    if (need.has(n)) return;
    need.add(n);
    for (const d of deps(n)) add(d);
  };
  for (const t of targets) add(t);
  return order.filter((n) => need.has(n));
}

/** Everything downstream of the given nodes (excluding them), in topological order. */
export function descendants(order: readonly string[], from: readonly string[], deps: (n: string) => readonly string[]): string[] {
  const hit = new Set(from);
  const out: string[] = [];
  for (const n of order) {
    if (hit.has(n)) continue;
    if (deps(n).some((d) => hit.has(d))) {
      hit.add(n);
      out.push(n);
    }
  }
  return out;
}
