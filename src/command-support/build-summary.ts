// What `bakeplan bake` reports per target after buildx: a compact table on stdout, the same as
// JSON (--summary-json) and as Markdown for $GITHUB_STEP_SUMMARY. Pure: the command writes them.
import type { StepStats } from "../io/progress.js";
import { table } from "./table.js";

export type TargetStatus = "cached" | "built" | "failed" | "not built";

export interface TargetSummary {
  target: string;
  /** `cached`: every step came from cache; `not built`: the bake stopped before it finished. */
  status: TargetStatus;
  steps?: { total: number; cached: number; built: number };
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

export interface SummaryInput {
  targets: string[];
  metadata: Record<string, unknown>;
  stats: ReadonlyMap<string, StepStats>;
  durations: ReadonlyMap<string, number>;
  cacheRefs: (target: string) => { cacheFrom: string[]; cacheTo: string[] };
  failure?: { targets: string[]; at?: string };
}

export function summarize(input: SummaryInput): BuildSummary {
  const failed = new Set(input.failure?.targets ?? []);
  const targets = input.targets.map((target): TargetSummary => {
    const m = (input.metadata[target] ?? {}) as Record<string, unknown>;
    const s = input.stats.get(target);
    const steps = s && s.steps > 0 ? { total: s.steps, cached: s.cached, built: s.steps - s.cached } : undefined;
    const finished = target in input.metadata;
    const status: TargetStatus = failed.has(target)
      ? "failed"
      : !finished && input.failure
        ? "not built"
        : steps && steps.cached === steps.total
          ? "cached"
          : "built";
    const digest = typeof m["containerimage.digest"] === "string" ? m["containerimage.digest"] : undefined;
    const mediaType = (m["containerimage.descriptor"] as { mediaType?: unknown } | undefined)?.mediaType;
    const ms = input.durations.get(target);
    return {
      target,
      status,
      steps,
      durationSeconds: ms === undefined ? undefined : Math.round(ms / 100) / 10,
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
  if (t.status === "failed") return "failed";
  if (t.status === "not built") return "not built";
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

export function summaryTable(summary: BuildSummary): string {
  const rows = summary.targets.map((t) => [t.target, cacheColumn(t), digestColumn(t), tagsColumn(t.tags)]);
  return table(["TARGET", "CACHE", "DIGEST", "TAGS"], rows);
}

export function summaryJson(summary: BuildSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

const ICON: Record<TargetStatus, string> = { cached: "✅", built: "✅", failed: "❌", "not built": "⏹️" };

/** Markdown for GitHub's job summary: one row per target, the tags and cache refs folded away. */
export function summaryMarkdown(summary: BuildSummary, title: string): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const code = (s: string) => `\`${cell(s)}\``;
  const lines = [
    `### ${cell(title)}`,
    "",
    "| target | result | steps | time | digest | tags |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const t of summary.targets) {
    const steps = t.steps ? `${t.steps.cached}/${t.steps.total} cached` : "-";
    const time = t.durationSeconds === undefined ? "-" : `${t.durationSeconds}s`;
    const digest = t.digest ? `${code(t.digest.digest.slice(0, 19))} (${t.digest.kind})` : "-";
    const tags =
      t.tags.length === 0
        ? "-"
        : `<details><summary>${t.tags.length} ${t.tags.length === 1 ? "tag" : "tags"}</summary>${t.tags.map(code).join("<br>")}</details>`;
    lines.push(`| ${code(t.target)} | ${ICON[t.status]} ${t.status} | ${steps} | ${time} | ${digest} | ${tags} |`);
  }
  if (summary.failure)
    lines.push(
      "",
      `**Failed:** ${summary.failure.targets.map(code).join(", ") || "see the log"}${summary.failure.at ? ` at ${code(summary.failure.at)}` : ""}`,
    );
  return `${lines.join("\n")}\n\n`;
}
