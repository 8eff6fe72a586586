// The pure half of `preflight`: which needed platform each resolved image lacks, the table, and
// the failure lines (what is missing or unreachable, and which targets need it).

import { table } from "../command-support/table.js";
import type { ImageNeed } from "./collect.js";
import { findPlatform, type IndexEntry } from "./reference.js";

export interface Resolved {
  digest: string;
  mediaType: string;
  /** Platform manifests (one, for a single-platform image). */
  platforms: IndexEntry[];
  /** `registry`, or `local image store` (the docker driver builds from local images). */
  via: string;
}

export interface Failure {
  /** e.g. `tag "nope" not found in 127.0.0.1:5000/demo/busybox` */
  failure: string;
}

export type Lookup = Resolved | Failure;

export interface Check {
  need: ImageNeed;
  lookup: Lookup;
  /** Platforms some target needs that the image does not have, with the targets. */
  missing: { platform: string; targets: string[] }[];
}

export function checkImages(needs: readonly ImageNeed[], lookups: ReadonlyMap<string, Lookup>): Check[] {
  return needs.map((need) => {
    const lookup = lookups.get(need.ref) ?? { failure: "not looked up" };
    const missing: Check["missing"] = [];
    if (!("failure" in lookup))
      for (const platform of need.platforms)
        if (!findPlatform(lookup.platforms, platform))
          missing.push({
            platform,
            targets: need.targets.filter((t) => need.byTarget.get(t)?.includes(platform)),
          });
    return { need, lookup, missing };
  });
}

export function failed(check: Check): boolean {
  return "failure" in check.lookup || check.missing.length > 0;
}

function usedBy(targets: readonly string[], max = 3): string {
  return targets.length <= max
    ? targets.join(", ")
    : `${targets.slice(0, max).join(", ")} +${targets.length - max} more`;
}

export function preflightTable(checks: readonly Check[]): string {
  const rows = checks.map(({ need, lookup, missing }) => {
    const platforms = need.platforms.length
      ? need.platforms.map(
          (p) => `${p} ${missing.some((m) => m.platform === p) ? "✗" : "failure" in lookup ? "?" : "✓"}`,
        )
      : ["(builder's)"];
    const digest =
      "failure" in lookup ? "FAILED (below)" : lookup.via === "registry" ? short(lookup.digest) : lookup.via;
    return [need.ref, digest, platforms.join(" "), usedBy(need.targets), need.sources[0] ?? ""];
  });
  return table(["IMAGE", "DIGEST", "PLATFORMS", "USED BY", "SOURCE"], rows);
}

/** One line per problem: the image, what is wrong, and who needs it. */
export function failureLines(checks: readonly Check[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    if ("failure" in c.lookup)
      lines.push(`${c.need.ref}: ${c.lookup.failure} (needed by ${usedBy(c.need.targets, 6)})`);
    else
      for (const m of c.missing) {
        const has = c.lookup.platforms.map((p) => p.platform).join(", ") || "no platform";
        lines.push(
          `${c.need.ref}: no ${m.platform} image (it has ${has}; needed by ${usedBy(m.targets, 6)} for ${m.platform})`,
        );
      }
  }
  return lines;
}

function short(digest: string): string {
  return digest.slice(0, 19);
}
