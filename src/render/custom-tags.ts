// bakeplan's own tags, `{% arg %}`, `{% install_packages %}` and the source marker: what they accept
// and what they write, shared by the compiled renders (compile.ts) and liquidjs's tag classes
// (liquid-engine.ts), so both paths give the same output and the same messages.
import { derivedArgValue, dockerfileArgValue } from "../values.js";
import type { PackageManager } from "../config/normalize.js";
import { PACKAGE_MANAGERS } from "../config/schema.js";
import { installCommand, installPackages } from "./packages.js";
import { AUTOMATIC_ARGS } from "./platform-args.js";

/** The marker tag liquidjs's copy of each template starts with: `# --- templates/x.liquid ---`. */
export const SOURCE_TAG = "bakeplan_source";

/** Where each `{% arg %}` was declared, for `explain`. */
export interface ArgDeclaration {
  name: string;
  template: string;
  line: number;
}

/** What one render of the custom tags reads and records. */
export interface TagState {
  /** Resolved ARG values for `{% arg NAME %}`. */
  args: ReadonlyMap<string, string>;
  /** The ARGs whose value is a derived default (`{derived: ...}`), written unescaped for BuildKit to expand. */
  derived?: ReadonlySet<string>;
  packageManager?: PackageManager;
  /** For error messages: `vllm-cuda12 (framework=vllm, cuda=12.9, ...)`. */
  variantLabel: string;
  declared: ArgDeclaration[];
  /** The template files this render went through (each one where its source marker is written). */
  templates: Set<string>;
}

export function sourceMarker(dirLabel: string, template: string): string {
  return `# --- ${dirLabel}/${template} ---\n`;
}

/** A tag's arguments, or why the template is refused (liquidjs reports it at the tag). */
export type ParsedTagArgs<T> = { value: T } | { error: string };

/** The ARG names of `{% arg A B %}`. */
export function parseArgTag(args: string): ParsedTagArgs<string[]> {
  const names = args.trim().split(/\s+/).filter(Boolean);
  if (names.length === 0) return { error: "{% arg %} needs at least one ARG name" };
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) return { error: `{% arg %}: "${n}" is not an ARG name` };
    if (AUTOMATIC_ARGS.has(n))
      return {
        error: `{% arg ${n} %}: ${n} is set by BuildKit per platform; write a plain "ARG ${n}" inside the stage that needs it`,
      };
  }
  return { value: names };
}

/** `ARG NAME=value` lines, recording each declaration at `template`:`line`. */
export function renderArgTag(names: readonly string[], state: TagState, template: string, line: number): string {
  const lines: string[] = [];
  for (const name of names) {
    const value = state.args.get(name);
    if (value === undefined)
      throw new Error(
        `ARG ${name} has no value for ${state.variantLabel}. Set it in context.yaml (defaults, an axis value or a combination), or write a plain "ARG ${name}" for an ARG without a default`,
      );
    state.declared.push({ name, template, line });
    lines.push(argTagLine(name, value, state.derived?.has(name)));
  }
  return lines.join("\n");
}

/** The line `{% arg NAME %}` writes for a value: a derived default unescaped, for BuildKit to expand. */
export function argTagLine(name: string, value: string, derived = false): string {
  return `ARG ${name}=${derived ? derivedArgValue(value) : dockerfileArgValue(value)}`;
}

export interface PackagesTag {
  /** `manager=dnf`: this manager whatever the variant's OS. */
  manager?: PackageManager;
  /** `inline`: only the install command, for inside a RUN the template writes. */
  inline: boolean;
  /** `virtual=.build-deps`: apk's --virtual group name (inline only; other managers have none). */
  virtual?: string;
  packages: string[];
}

/** `{% install_packages [manager=M] [inline [virtual=NAME]] P ... %}`: options first, in any order. */
export function parseInstallPackagesTag(args: string): ParsedTagArgs<PackagesTag> {
  const words = args.trim().split(/\s+/).filter(Boolean);
  const tag: PackagesTag = { inline: false, packages: [] };
  for (let w = words[0]; w !== undefined; words.shift(), w = words[0]) {
    const option = /^(manager|virtual)=(.*)$/.exec(w);
    if (w === "inline") tag.inline = true;
    else if (option?.[1] === "manager") {
      if (!(PACKAGE_MANAGERS as readonly string[]).includes(option[2]!))
        return {
          error: `{% install_packages %}: unknown manager "${option[2]}"; one of ${PACKAGE_MANAGERS.join(", ")}`,
        };
      tag.manager = option[2] as PackageManager;
    } else if (option?.[1] === "virtual") {
      if (!/^[A-Za-z0-9._-]+$/.test(option[2]!))
        return { error: `{% install_packages %}: virtual=${option[2]} is not a group name (letters, digits, . _ -)` };
      tag.virtual = option[2];
    } else break;
  }
  if (tag.virtual !== undefined && !tag.inline)
    return {
      error:
        "{% install_packages %}: virtual= is for the inline form (apk add --virtual inside your RUN); write {% install_packages inline virtual=... %}",
    };
  if (words.length === 0) return { error: "{% install_packages %} needs at least one package" };
  for (const p of words)
    if (!/^([a-z]+:)?[A-Za-z0-9][A-Za-z0-9.+_:=~*@-]*$/.test(p))
      return { error: `{% install_packages %}: "${p}" is not a package name` };
  tag.packages = words;
  return { value: tag };
}

/**
 * The indentation of the inline form's package lines: the template line's own indentation (up to
 * the first non-blank) and one level more, a tab where that line is indented with tabs.
 */
export function packageIndent(text: string, offset: number): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const own = /^[ \t]*/.exec(text.slice(start, offset))![0];
  return own + (own.includes("\t") ? "\t" : "    ");
}

export function renderInstallPackagesTag(tag: PackagesTag, state: TagState, indent: string): string {
  const manager = tag.manager ?? state.packageManager;
  if (!manager)
    throw new Error(
      "{% install_packages %} needs a package manager: set package_manager on the values of one axis (e.g. os), or write {% install_packages manager=dnf ... %}",
    );
  return tag.inline
    ? installCommand(manager, tag.packages, { indent, virtual: tag.virtual })
    : installPackages(manager, tag.packages);
}
