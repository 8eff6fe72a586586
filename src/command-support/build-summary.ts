// What `bakeplan bake` reports per target after buildx: a compact table on stdout, the same as
// JSON (--summary-json) and as Markdown for $GITHUB_STEP_SUMMARY. Pure: the command writes them.
import type { StepStats } from "../io/progress.js";
import { table } from "./table.js";

/**
 * `cached`: every step came from cache; `stopped`: its bake stopped before it finished (another
 * target failed); `not started`: a bake that never ran (--one-by-one after a failure, a pool).
 */
export type TargetStatus = "cached" | "built" | "failed" | "stopped" | "not started";

export interface TargetSummary {
  target: string;
  status: TargetStatus;
  /** The builder of a pool bake (`bake --builders`). */
  builder?: string;
  /** Why it failed, when a pool knows more than the step (its builder was lost). */
  why?: string;
  /** Steps of its build: from cache, built, failed (a step shared with other targets counts for each). */
  steps?: { total: number; cached: number; built: number; failed?: number };
  durationSeconds?: number;
  /**
   * The digest buildx reports for the pushed or loaded image (metadata `containerimage.digest`):
   * of an image index when it is one (several platforms, or attestations, which carry fresh
   * provenance on every build, so it changes even when every step came from cache), else of the
   * image manifest.
   */
  digest?: { kind: "index" | "manifest"; digest: string };
  tags: string[];
  cacheFrom: string[];
  cacheTo: string[];
}

export interface BuildSummary {
  targets: TargetSummary[];
  /** When the bake failed: the targets that failed, and the template line of the failing step. */
  failure?: { targets: string[]; at?: string };
}

/** What a target's outcome is, beside buildx's metadata: its step counts and how long it took. */
export interface TargetRun {
  status?: TargetStatus;
  builder?: string;
  why?: string;
  stats?: StepStats;
  durationMs?: number;
}

export interface SummaryInput {
  targets: readonly string[];
  metadata: Record<string, unknown>;
  /** Per target; a target without a status is `cached` or `built` by its step counts. */
  runs: ReadonlyMap<string, TargetRun>;
  cacheRefs: (target: string) => { cacheFrom: string[]; cacheTo: string[] };
  failure?: { targets: string[]; at?: string };
}

export function summarize(input: SummaryInput): BuildSummary {
  const targets = input.targets.map((target): TargetSummary => {
    const m = (input.metadata[target] ?? {}) as Record<string, unknown>;
    const run = input.runs.get(target) ?? {};
    const s = run.stats;
    const steps =
      s && s.steps > 0
        ? { total: s.steps, cached: s.cached, built: s.built, ...(s.errors > 0 ? { failed: s.errors } : {}) }
        : undefined;
    const status: TargetStatus = run.status ?? (steps && steps.cached === steps.total ? "cached" : "built");
    const digest = typeof m["containerimage.digest"] === "string" ? m["containerimage.digest"] : undefined;
    const mediaType = (m["containerimage.descriptor"] as { mediaType?: unknown } | undefined)?.mediaType;
    return {
      target,
      status,
      ...(run.builder !== undefined ? { builder: run.builder } : {}),
      ...(run.why !== undefined ? { why: run.why } : {}),
      steps,
      durationSeconds: run.durationMs === undefined ? undefined : Math.round(run.durationMs / 100) / 10,
      digest: digest
        ? {
            kind: typeof mediaType === "string" && /index|manifest\.list/.test(mediaType) ? "index" : "manifest",
            digest,
          }
        : undefined,
      tags: typeof m["image.name"] === "string" ? m["image.name"].split(",").filter((t) => t !== "") : [],
      ...input.cacheRefs(target),
    };
  });
  return { targets, failure: input.failure };
}

function cacheColumn(t: TargetSummary): string {
  if (t.status !== "cached" && t.status !== "built") return t.status;
  if (!t.steps) return "-";
  return t.steps.cached === t.steps.total ? "fully cached" : `${t.steps.built} of ${t.steps.total} steps built`;
}

/** `first-tag`, or `first-tag +N` when there are more (all of them are in --summary-json). */
function tagsColumn(tags: readonly string[]): string {
  if (tags.length === 0) return "-";
  return tags.length === 1 ? tags[0]! : `${tags[0]!} +${tags.length - 1}`;
}

function digestColumn(t: TargetSummary): string {
  return t.digest ? `${t.digest.digest.slice(0, 19)} (${t.digest.kind})` : "-";
}

/** One row per target: TARGET, BUILDER (a pool bake), CACHE, DIGEST, TAGS. */
export function summaryTable(summary: BuildSummary): string {
  const pool = summary.targets.some((t) => t.builder !== undefined);
  const rows = summary.targets.map((t) => [
    t.target,
    ...(pool ? [t.builder ?? "-"] : []),
    cacheColumn(t),
    digestColumn(t),
    tagsColumn(t.tags),
  ]);
  return table(["TARGET", ...(pool ? ["BUILDER"] : []), "CACHE", "DIGEST", "TAGS"], rows);
}

export function summaryJson(summary: BuildSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

const ICON: Record<TargetStatus, string> = {
  cached: "✅",
  built: "✅",
  failed: "❌",
  stopped: "⏹️",
  "not started": "⏹️",
};

/** Markdown for GitHub's job summary: one row per target, the tags and cache refs folded away. */
export function summaryMarkdown(summary: BuildSummary, title: string): string {
  // Names come from context.yaml and the templates' file names: nothing in them may end a cell,
  // a code span or the line.
  const cell = (s: string) => s.replace(/[\r\n]+/g, " ").replace(/\|/g, "\\|");
  const code = (s: string) => `\`${cell(s).replace(/`/g, "'")}\``;
  const pool = summary.targets.some((t) => t.builder !== undefined);
  const head = ["target", ...(pool ? ["builder"] : []), "result", "steps", "time", "digest", "tags"];
  const lines = [`### ${cell(title)}`, "", `| ${head.join(" | ")} |`, `|${" --- |".repeat(head.length)}`];
  for (const t of summary.targets) {
    const steps = t.steps ? `${t.steps.cached}/${t.steps.total} cached` : "-";
    const time = t.durationSeconds === undefined ? "-" : `${t.durationSeconds}s`;
    const digest = t.digest ? `${code(t.digest.digest.slice(0, 19))} (${t.digest.kind})` : "-";
    const tags =
      t.tags.length === 0
        ? "-"
        : `<details><summary>${t.tags.length} ${t.tags.length === 1 ? "tag" : "tags"}</summary>${t.tags.map(code).join("<br>")}</details>`;
    const builder = pool ? [t.builder === undefined ? "-" : code(t.builder)] : [];
    const row = [code(t.target), ...builder, `${ICON[t.status]} ${t.status}`, steps, time, digest, tags];
    lines.push(`| ${row.join(" | ")} |`);
  }
  if (summary.failure)
    lines.push(
      "",
      `**Failed:** ${summary.failure.targets.map(code).join(", ") || "see the log"}${summary.failure.at ? ` at ${code(summary.failure.at)}` : ""}`,
    );
  return `${lines.join("\n")}\n\n`;
}
