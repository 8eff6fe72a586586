import type { RenderLimits } from "../config/normalize.js";
import { RENDER_LIMIT_DEFAULTS } from "../config/schema.js";

export function renderLimits(given: Partial<RenderLimits> = {}): RenderLimits {
  return {
    renderMs: given.renderMs ?? RENDER_LIMIT_DEFAULTS.render_ms,
    renderChars: given.renderChars ?? RENDER_LIMIT_DEFAULTS.render_chars,
    templateChars: given.templateChars ?? RENDER_LIMIT_DEFAULTS.template_chars,
  };
}

/** A render stopped by a limit: reported as it is, never re-rendered to find a better message. */
export class RenderLimitError extends Error {
  constructor(
    message: string,
    /** Where it was hit, when the compiled render knows: the template and the offset of the node. */
    readonly site?: { template: string; offset: number },
  ) {
    super(message);
  }
}

export function renderTimeExceeded(limits: RenderLimits): string {
  return `Rendering took longer than limits.render_ms allows (${limits.renderMs} ms for all renders of one run); raise limits.render_ms in context.yaml if the templates need more`;
}

export function renderOutputExceeded(limits: RenderLimits): string {
  return `The rendered text grew past limits.render_chars (${limits.renderChars} characters); raise limits.render_chars in context.yaml if the Dockerfile is meant to be that long`;
}

export function renderMemoryExceeded(limits: RenderLimits): string {
  return `The template built more than limits.render_chars allows (${limits.renderChars} characters in ranges and filter results); raise limits.render_chars in context.yaml if it is meant to`;
}

export function templateTooLarge(limits: RenderLimits, label: string, chars: number): string {
  return `${label} has ${chars} characters, more than limits.template_chars allows (${limits.templateChars}); raise limits.template_chars in context.yaml if it is meant to be that large`;
}
