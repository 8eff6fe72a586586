import { dirname, relative, resolve, sep } from "node:path";
import { loadContext, type LoadResult } from "../config/load.js";
import { UserError, type SourceLocation } from "../errors.js";
import { positionAt, templateName, templateReferences } from "../render/template-refs.js";
import type { TemplateFiles } from "../render/templates.js";
import { InputBudget, readInputText } from "./read-input.js";
import { walkTemplateDir } from "./template-dir.js";

export interface ProjectFiles extends LoadResult {
  /** Directory of context.yaml: every relative path in the plan is relative to it. */
  dir: string;
  /** context.yaml as named in messages and generated headers (relative to cwd when inside it). */
  configLabel: string;
  templates: TemplateFiles;
}

export function displayPath(abs: string, cwd = process.cwd()): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith("..") ? rel.split(sep).join("/") : abs;
}

/**
 * Reads context.yaml and every template (once each), the only file reads of a plan: regular files
 * only, UTF-8 only, all of them within one byte budget (BAKEPLAN_MAX_INPUT_BYTES).
 */
export function readProject(configPath: string, budget = InputBudget.fromEnvironment()): ProjectFiles {
  const abs = resolve(configPath);
  const configLabel = displayPath(abs);
  const loaded = loadContext(configLabel, readInputText(abs, configLabel, "config file", budget));
  const dir = dirname(abs);
  const { templates } = loaded.project.build;
  // A build.templates written in context.yaml is reported where it is written.
  const source = loaded.project.source;
  const where =
    source.sourceText(["build", "templates"]) !== undefined ? source.locate(["build", "templates"]) : undefined;
  return { ...loaded, dir, configLabel, templates: readTemplates(resolve(dir, templates), templates, budget, where) };
}

/** Every *.liquid file under the template directory; a link that leads outside it is an error. */
export function readTemplates(
  dir: string,
  label: string,
  budget = InputBudget.fromEnvironment(),
  where?: SourceLocation,
): TemplateFiles {
  const entries = walkTemplateDir(dir);
  if (!entries && where)
    throw new UserError(`Template directory "${label}" not found (relative to the directory of the config file)`, {
      location: where,
    });
  if (!entries) throw new UserError("Template directory not found", { location: { file: label } });
  const files = new Map<string, string>();
  let outside: { rel: string; real: string } | undefined;
  for (const entry of entries) {
    if (entry.kind === "unreadable") {
      const why = entry.code === "EACCES" || entry.code === "EPERM" ? "permission denied" : entry.code;
      throw new UserError(entry.directory ? `cannot read the template directory (${why})` : `Cannot read (${why})`, {
        location: { file: entry.rel ? `${label}/${entry.rel}` : label },
      });
    }
    if (entry.kind === "broken")
      throw new UserError(`Broken link (to ${entry.target})`, { location: { file: `${label}/${entry.rel}` } });
    if (entry.kind === "outside") outside ??= entry;
    else if ((entry.kind === "file" || entry.kind === "special") && entry.rel.endsWith(".liquid"))
      files.set(entry.rel, readInputText(entry.real, `${label}/${entry.rel}`, "template", budget));
  }
  if (outside) throw outsideLinkError(outside, files, label);
  return files;
}

/** A link out of the template directory, reported at the first include that names it (else at the link). */
function outsideLinkError(link: { rel: string; real: string }, files: TemplateFiles, label: string): UserError {
  const message = `${link.rel} is a link to ${link.real}, outside ${label}/; templates may only include files inside it`;
  const wanted = link.rel.replace(/\.liquid$/, "");
  for (const [name, text] of files) {
    for (const ref of templateReferences(text)) {
      if (templateName(ref.target).replace(/\.liquid$/, "") !== wanted) continue;
      return new UserError(message, { location: { file: `${label}/${name}`, ...positionAt(text, ref.offset) } });
    }
  }
  return new UserError(message, { location: { file: `${label}/${link.rel}` } });
}
