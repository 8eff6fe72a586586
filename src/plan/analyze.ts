import { analyzeDockerfile, type DockerfileShape } from "../render/dockerfile.js";
import type { ArgDeclaration } from "../render/custom-tags.js";
import type { Content } from "./contents.js";
import type { Rendering } from "./render-variants.js";

/** ARG name -> the stage that declares it ("" = global) and the template line of its `{% arg %}`. */
export type Declarations = Map<string, { stage: string; template?: ArgDeclaration }>;

export interface Analysis {
  /** Stages, ARGs and problems of each distinct content. */
  shapeOf: Map<Content, DockerfileShape>;
  /** Where each ARG is declared depends on the render alone: one Map per render, shared by its targets. */
  declarationsOf: Map<Rendering, Declarations>;
  /** Every ARG some Dockerfile declares. */
  declared: Set<string>;
}

/** Reads each distinct Dockerfile once, and each render's declarations once. */
export function analyzeRenderings(
  renderings: Iterable<Rendering>,
  /** Shapes of Contents other plans share (SharedRenders), read once for all of them. */
  shared?: Map<Content, DockerfileShape>,
): Analysis {
  const shapeOf = new Map<Content, DockerfileShape>();
  const declarationsOf = new Map<Rendering, Declarations>();
  const declared = new Set<string>();
  for (const rendering of renderings) {
    if (declarationsOf.has(rendering)) continue;
    let shape = shapeOf.get(rendering.content);
    if (!shape) {
      shape = shared?.get(rendering.content) ?? analyzeDockerfile(rendering.content.body);
      shared?.set(rendering.content, shape);
      shapeOf.set(rendering.content, shape);
    }
    for (const name of shape.args.keys()) declared.add(name);
    declarationsOf.set(rendering, declarationsIn(shape, rendering.declared));
  }
  return { shapeOf, declarationsOf, declared };
}

/** The stage from the Dockerfile, the template line from the first `{% arg %}` of that name. */
export function declarationsIn(shape: DockerfileShape, declared: readonly ArgDeclaration[]): Declarations {
  const first = new Map<string, ArgDeclaration>();
  for (const d of declared) if (!first.has(d.name)) first.set(d.name, d);
  const declarations: Declarations = new Map();
  for (const [name, stage] of shape.args) declarations.set(name, { stage, template: first.get(name) });
  return declarations;
}
