// Reads buildx's `--progress=plain` output: which build steps ran, which came from cache, and
// which target failed. Vertex lines look like `#12 [vllm-cuda12 runtime 2/5] RUN ...`, followed
// by `#12 CACHED`, `#12 DONE 0.4s` or `#12 ERROR: ...`.

export interface StepStats {
  /** Dockerfile instructions (vertices named `[... i/n]`). */
  steps: number;
  cached: number;
  built: number;
  errors: number;
}

export interface Progress {
  byTarget: Map<string, StepStats>;
  /** Vertex names as printed, for tests and debugging: `[t stage 2/3] RUN echo`. */
  vertices: Map<string, { name: string; target?: string; status?: "CACHED" | "DONE" | "ERROR" }>;
  failedTargets: string[];
}

export function parsePlainProgress(text: string, targets: readonly string[]): Progress {
  const known = new Set(targets);
  const vertices: Progress["vertices"] = new Map();
  const failed = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (m) {
      const [, id, rest] = m as unknown as [string, string, string];
      const named = /^\[([^\]]+)\] (.*)$/.exec(rest);
      if (named && !vertices.has(id)) {
        const first = named[1]!.split(" ")[0]!;
        const target = known.has(first) ? first : targets.length === 1 ? targets[0] : undefined;
        vertices.set(id, { name: rest, ...(target ? { target } : {}) });
        continue;
      }
      const v = vertices.get(id);
      if (!v) continue;
      if (rest === "CACHED") v.status = "CACHED";
      else if (/^DONE\b/.test(rest)) v.status ??= "DONE";
      else if (/^ERROR\b/.test(rest)) {
        v.status = "ERROR";
        if (v.target) failed.add(v.target);
      }
      continue;
    }
    const err = /^ERROR: target ([A-Za-z0-9_-]+): /.exec(line);
    if (err) failed.add(err[1]!);
  }
  const byTarget = new Map<string, StepStats>(targets.map((t) => [t, { steps: 0, cached: 0, built: 0, errors: 0 }]));
  for (const v of vertices.values()) {
    if (!v.target || !/ \d+\/\d+\]/.test(v.name)) continue;
    const s = byTarget.get(v.target);
    if (!s) continue;
    s.steps++;
    if (v.status === "CACHED") s.cached++;
    else if (v.status === "ERROR") s.errors++;
    else if (v.status === "DONE") s.built++;
  }
  return { byTarget, vertices, failedTargets: [...failed].sort() };
}
