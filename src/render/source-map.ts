import type { TemplateFiles } from "./templates.js";

export interface TemplateLine {
  /** Template file name inside the template directory, e.g. `vllm_runtime.liquid`. */
  template: string;
  /** 1-based line in the template, when the rendered line could be matched to one. */
  line?: number;
}

const MARKER = /^# --- [^/]+(?:\/[^/]+)*?\/(.+\.liquid) ---$/;

/**
 * Maps a line of a rendered Dockerfile back to the template line it came from: the nearest
 * source marker above names the file; the line's text (or, for lines with rendered values,
 * its instruction prefix) is then found in that template.
 */
export function templateLineOf(dockerfile: string, line: number, templates: TemplateFiles, dirLabel: string): TemplateLine | undefined {
  const lines = dockerfile.split("\n");
  let template: string | undefined;
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const marker = lines[i]!.startsWith(`# --- ${dirLabel}/`) ? /^# --- .*?\/(.+) ---$/.exec(lines[i]!) : MARKER.exec(lines[i]!);
    if (marker) {
      template = marker[1]!;
      break;
    }
  }
  if (!template) return undefined;
  const source = templates.get(template);
  const text = lines[line - 1]?.trim();
  if (!source || !text) return { template };
  const srcLines = source.split("\n").map((l) => l.trim());
  let idx = srcLines.indexOf(text);
  if (idx < 0) {
    // `ARG X=value` comes from `{% arg X %}`; other lines may hold rendered values: match the instruction and first word.
    const arg = /^ARG ([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
    if (arg) idx = srcLines.findIndex((l) => new RegExp(`\\{%-?\\s*arg\\b[^%]*\\b${arg[1]}\\b`).test(l));
    if (idx < 0) {
      const head = text.split(/\s+/).slice(0, 2).join(" ");
      idx = srcLines.findIndex((l) => l.startsWith(head));
    }
  }
  return idx < 0 ? { template } : { template, line: idx + 1 };
}
