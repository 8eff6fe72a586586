import { printableLine } from "../text.js";

/** A plain text table, columns padded to their widest cell; control characters, tabs and line breaks in a cell shown as escapes. */
export function table(header: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(printableLine));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}
