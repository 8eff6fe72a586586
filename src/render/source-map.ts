import type { TemplateFiles } from "./templates.js";

export interface TemplateLine {
  /** Template file name inside the template directory, e.g. `vllm_runtime.liquid`. */
  template: string;
  /** 1-based line in the template, when the rendered line could be matched to one. */
  line?: number;
}

/** Does rendered line `text` come from template line `src` (both trimmed)? */
function sameLine(text: string, src: string): boolean {
  if (text === src) return true;
  // `ARG X=value` comes from `{% arg ... X ... %}`.
  const arg = /^ARG ([A-Za-z_][A-Za-z0-9_]*)=/.exec(text);
  if (arg && new RegExp(`^\\{%-?\\s*arg\\b[^%]*\\b${arg[1]}\\b`).test(src)) return true;
  // A line with rendered values keeps its literal start: compare up to the first liquid tag.
  const literal = src.split(/\{[{%]/)[0]!;
  return literal.length >= 4 && literal !== src && text.startsWith(literal);
}

/**
 * Maps a line of a rendered Dockerfile back to the template line it came from. The nearest
 * source marker above names the file; the rendered lines from the marker down are then aligned
 * with the template in order, so a line whose text appears twice in the template maps to the
 * occurrence that produced it.
 */
export function templateLineOf(
  dockerfile: string,
  line: number,
  templates: TemplateFiles,
  dirLabel: string,
): TemplateLine | undefined {
  const lines = dockerfile.split("\n");
  const prefix = `# --- ${dirLabel}/`;
  let start = -1;
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    if (lines[i]!.startsWith(prefix) && lines[i]!.endsWith(" ---")) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const template = lines[start]!.slice(prefix.length, -" ---".length);
  const source = templates.get(template);
  if (!source || !lines[line - 1]?.trim()) return { template };
  const src = source.split("\n").map((l) => l.trim());
  let cursor = 0;
  for (let i = start + 1; i < line; i++) {
    const text = lines[i]!.trim();
    if (text === "") continue;
    let j = cursor;
    while (j < src.length && !sameLine(text, src[j]!)) j++;
    if (i === line - 1) {
      if (j < src.length) return { template, line: j + 1 };
      const anywhere = src.findIndex((s) => sameLine(text, s));
      return anywhere < 0 ? { template } : { template, line: anywhere + 1 };
    }
    if (j < src.length) cursor = j + 1;
  }
  return { template };
}
