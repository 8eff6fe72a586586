// Reads buildx's `--progress=plain` output: which build steps ran, which came from cache, and
// which target failed. Vertex lines look like `#12 [vllm-cuda12 runtime 2/5] RUN ...`, followed
// by `#12 CACHED`, `#12 DONE 0.4s` or `#12 ERROR: ...`.

/** A build step: a Dockerfile instruction, `[target stage i/n] ...`; not FROM, which resolves an image and is never "cached". */
const STEP = / \d+\/\d+\] (?!FROM )/;
/** Errors BuildKit gives vertices it stopped because another target failed (bake is fail-fast). */
const CANCELED = /\bcancel(l)?ed\b/i;

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
  /** Where buildx said the failing step is: its Dockerfile excerpt's `x.Dockerfile:28` line. */
  failedAt?: { dockerfile: string; line: number };
  /** Per target, from its first step's start to its last step's end (rawjson only). */
  durations: Map<string, number>;
}

/** buildx prints `x.Dockerfile:28` above the excerpt of the step that failed. */
const FAILED_AT = /^(\S+):(\d+)$/;

function failedAtOf(line: string): { dockerfile: string; line: number } | undefined {
  const m = FAILED_AT.exec(line);
  return m && /Dockerfile/i.test(m[1]!) ? { dockerfile: m[1]!, line: Number(m[2]) } : undefined;
}

export function parsePlainProgress(text: string, targets: readonly string[]): Progress {
  const known = new Set(targets);
  const vertices: Progress["vertices"] = new Map();
  const failed = new Set<string>();
  let failedAt: Progress["failedAt"];
  for (const line of text.split("\n")) {
    failedAt ??= failedAtOf(line);
    const m = /^#(\d+) (.*)$/.exec(line);
    if (m) {
      const [, id, rest] = m as unknown as [string, string, string];
      const named = /^\[([^\]]+)\] (.*)$/.exec(rest);
      if (named && !vertices.has(id)) {
        const first = named[1]!.split(" ")[0]!;
        const target = known.has(first) ? first : targets.length === 1 ? targets[0] : undefined;
        vertices.set(id, { name: rest, target });
        continue;
      }
      const v = vertices.get(id);
      if (!v) continue;
      if (rest === "CACHED") v.status = "CACHED";
      else if (/^DONE\b/.test(rest)) v.status ??= "DONE";
      else if (/^ERROR\b/.test(rest)) {
        v.status = "ERROR";
        // A missing cache-from ref also prints ERROR (on its "importing cache manifest" vertex)
        // and is harmless; only a failed build step, not one canceled by fail-fast, fails a target.
        if (v.target && STEP.test(v.name) && !CANCELED.test(rest)) failed.add(v.target);
      }
      continue;
    }
    const err = /^ERROR: target ([A-Za-z0-9_-]+): /.exec(line);
    if (err) failed.add(err[1]!);
  }
  const byTarget = new Map<string, StepStats>(targets.map((t) => [t, { steps: 0, cached: 0, built: 0, errors: 0 }]));
  for (const v of vertices.values()) {
    if (!v.target || !STEP.test(v.name)) continue;
    const s = byTarget.get(v.target);
    if (!s) continue;
    s.steps++;
    if (v.status === "CACHED") s.cached++;
    else if (v.status === "ERROR") s.errors++;
    else if (v.status === "DONE") s.built++;
  }
  return { byTarget, vertices, failedTargets: [...failed].sort(), failedAt, durations: new Map() };
}

// `--progress=rawjson` prints one BuildKit SolveStatus per line. Unlike plain output it reports a
// vertex shared by several targets once per target (same digest, each name prefixed with its
// target), so it says exactly which steps each target used and whether they came from cache.

interface RawVertex {
  digest?: string;
  name?: string;
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
}

/** A vertex's sub-task: `exporting layers`, `pushing layers`, `naming to ...`, `pushing manifest for ...`. */
interface RawTask {
  id?: string;
  vertex?: string;
  started?: string;
  completed?: string;
}

interface RawStatus {
  vertexes?: RawVertex[];
  statuses?: RawTask[];
  logs?: { vertex?: string; data?: string }[];
  warnings?: { vertex?: string; short?: string }[];
}

interface RawVertexState {
  /** Display number, in order of first output (like plain output's `#12`); 0 before. */
  n: number;
  name: string;
  targets: Set<string>;
  step: boolean;
  cached: boolean;
  started?: string;
  completed?: string;
  error?: string;
  printed: boolean;
  reported: boolean;
}

/**
 * Reads buildx's rawjson progress line by line and renders it as plain-style text (`#3 [t stage
 * 1/2] RUN ...`, `#3 CACHED`, `#3 DONE 1.2s`, `#3 ERROR: ...`, log lines). Lines that are not JSON
 * (buildx's final `ERROR: target x: ...` and the Dockerfile excerpt before it) pass through.
 */
export class RawProgress {
  private readonly known: Set<string>;
  private readonly vertices = new Map<string, RawVertexState>();
  private readonly failed = new Set<string>();
  private failedAt: Progress["failedAt"];
  private shown = 0;
  /** Sub-tasks printed (`vertex\0id`), and whether their `done` line was. */
  private readonly tasks = new Map<string, boolean>();
  /** The vertex whose header was printed last, so a status line after other output repeats it. */
  private last: RawVertexState | undefined;

  constructor(private readonly targets: readonly string[]) {
    this.known = new Set(targets);
  }

  /** Feeds one line of buildx's stderr; returns the text to show for it ("" for none). */
  feed(line: string): string {
    if (line.trim() === "") return "";
    let status: RawStatus;
    try {
      status = JSON.parse(line) as RawStatus;
    } catch {
      const err = /^ERROR: target ([A-Za-z0-9_-]+): /.exec(line);
      if (err) this.failed.add(err[1]!);
      this.failedAt ??= failedAtOf(line);
      this.last = undefined;
      return `${line}\n`;
    }
    if (status === null || typeof status !== "object") return `${line}\n`;
    let text = "";
    for (const v of status.vertexes ?? []) text += this.vertex(v);
    for (const t of status.statuses ?? []) text += this.task(t);
    for (const l of status.logs ?? []) {
      const state = l.vertex ? this.vertices.get(l.vertex) : undefined;
      if (!state || !l.data) continue;
      for (const part of Buffer.from(l.data, "base64").toString("utf8").split("\n"))
        if (part.trim() !== "") text += `${this.header(state)}#${state.n} ${part.replace(/\r$/, "")}\n`;
    }
    for (const w of status.warnings ?? []) {
      if (!w.short) continue;
      text += `WARNING: ${Buffer.from(w.short, "base64").toString("utf8")}\n`;
      this.last = undefined;
    }
    return text;
  }

  private vertex(v: RawVertex): string {
    if (!v.digest) return "";
    let state = this.vertices.get(v.digest);
    const name = v.name ?? "";
    if (!state) {
      state = { n: 0, name, targets: new Set(), step: STEP.test(name), cached: false, printed: false, reported: false };
      this.vertices.set(v.digest, state);
    }
    const target = this.targetOf(name);
    if (target) state.targets.add(target);
    if (v.cached) state.cached = true;
    if (v.started) state.started ??= v.started;
    if (v.error) state.error ??= v.error;
    if (v.completed) state.completed = v.completed;
    let text = "";
    if (!state.printed && (v.started || v.completed || v.cached)) text += this.header(state);
    // The first completion is the result; a remote-cache hit reports the vertex again when its
    // layers are fetched for export, which is not a rebuild.
    if (v.completed && !state.reported) {
      state.reported = true;
      text += this.header(state);
      if (state.error) text += `#${state.n} ERROR: ${state.error}\n`;
      else if (state.cached) text += `#${state.n} CACHED\n`;
      else text += `#${state.n} DONE ${seconds(state.started, v.completed)}\n`;
    }
    return text;
  }

  /** As plain progress prints them: `#n pushing layers` when it starts, `#n pushing layers 2.1s done` when it ends. */
  private task(t: RawTask): string {
    const state = t.vertex ? this.vertices.get(t.vertex) : undefined;
    if (!state || !t.id) return "";
    const key = `${t.vertex}\0${t.id}`;
    const done = this.tasks.get(key);
    if (done === true) return "";
    let text = "";
    if (done === undefined && !t.completed) text += `${this.header(state)}#${state.n} ${t.id}\n`;
    this.tasks.set(key, t.completed !== undefined);
    const took = t.completed ? seconds(t.started, t.completed) : "";
    if (t.completed) text += `${this.header(state)}#${state.n} ${t.id}${took ? ` ${took}` : ""} done\n`;
    return text;
  }

  /** `#n name` unless it was the last thing printed; numbers vertices in order of output. */
  private header(state: RawVertexState): string {
    if (this.last === state) return "";
    const first = this.shown === 0;
    if (state.n === 0) state.n = ++this.shown;
    this.last = state;
    state.printed = true;
    return `${first ? "" : "\n"}#${state.n} ${state.name}\n`;
  }

  private targetOf(name: string): string | undefined {
    const named = /^\[([^\] ]+)[\] ]/.exec(name);
    if (named && this.known.has(named[1]!)) return named[1]!;
    return this.targets.length === 1 ? this.targets[0] : undefined;
  }

  /** Per-target step counts and the failed targets, from everything fed so far. */
  result(): Progress {
    const byTarget = new Map<string, StepStats>(
      this.targets.map((t) => [t, { steps: 0, cached: 0, built: 0, errors: 0 }]),
    );
    const vertices: Progress["vertices"] = new Map();
    const failed = new Set(this.failed);
    const spans = new Map<string, { from: number; to: number }>();
    for (const [digest, v] of this.vertices) {
      const from = v.started ? Date.parse(v.started) : NaN;
      const to = v.completed ? Date.parse(v.completed) : NaN;
      if (Number.isFinite(from) && Number.isFinite(to))
        for (const t of v.targets) {
          const span = spans.get(t);
          spans.set(t, span ? { from: Math.min(span.from, from), to: Math.max(span.to, to) } : { from, to });
        }
      const status = v.error ? "ERROR" : v.cached ? "CACHED" : v.completed ? "DONE" : undefined;
      const first = [...v.targets][0];
      vertices.set(digest, { name: v.name, target: first, status });
      if (!v.step) continue;
      const realError = v.error !== undefined && !CANCELED.test(v.error);
      for (const t of v.targets) {
        const s = byTarget.get(t)!;
        s.steps++;
        if (realError) {
          s.errors++;
          failed.add(t);
        } else if (v.cached) s.cached++;
        else if (v.completed && !v.error) s.built++;
      }
    }
    const durations = new Map([...spans].map(([t, span]) => [t, span.to - span.from]));
    return { byTarget, vertices, failedTargets: [...failed].sort(), failedAt: this.failedAt, durations };
  }
}

function seconds(started: string | undefined, completed: string): string {
  const ms = started ? Date.parse(completed) - Date.parse(started) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? `${(ms / 1000).toFixed(1)}s` : "";
}
