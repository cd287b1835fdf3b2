// Draws the live transcript into its box, touching only what changed: a
// four-hour consultation has thousands of lines, and partial results arrive
// several times a second — rebuilding every line each time made the window's
// memory climb for as long as it recorded.

import { lineTime } from "./state/format.js";
import type { TranscriptView, Line } from "./state/transcript.js";

/** One settled line: its time from the start, then its words (`.words`). */
export function lineElement(line: { start: number; text: string }, time: "time" | "link"): HTMLParagraphElement {
  const element = document.createElement("p");
  const at = lineTime(Math.ceil(line.start));
  const stamp = document.createElement("time");
  stamp.className = "at";
  stamp.dateTime = at.iso;
  stamp.textContent = at.label;
  if (time === "link") {
    // In history a time is a link to the line itself, shown in its context.
    const link = document.createElement("a");
    link.href = "#";
    link.append(stamp);
    link.setAttribute("aria-label", `Show the line at ${at.label} in context`);
    element.append(link);
  } else {
    element.append(stamp);
  }
  const words = document.createElement("span");
  words.className = "words";
  words.textContent = line.text;
  element.append(" ", words);
  return element;
}

export class TranscriptDom {
  private shown: { line: Line; element: HTMLParagraphElement }[] = [];
  private partial: HTMLParagraphElement | null = null;

  constructor(private readonly box: HTMLElement) {}

  render(view: TranscriptView): void {
    // The first line that differs: the transcript keeps each line's identity,
    // so this is the end of the shown lines unless a line was corrected.
    let same = 0;
    while (same < this.shown.length && same < view.finals.length && this.shown[same].line === view.finals[same]) {
      same += 1;
    }
    for (const stale of this.shown.splice(same)) stale.element.remove();
    for (const line of view.finals.slice(same)) {
      const element = lineElement(line, "time");
      if (line.gap) {
        element.className = "gap";
        element.setAttribute("role", "note");
      }
      this.box.insertBefore(element, this.partial);
      this.shown.push({ line, element });
    }
    if (view.partial === null) {
      this.partial?.remove();
      this.partial = null;
    } else {
      if (this.partial === null) {
        this.partial = document.createElement("p");
        this.partial.className = "partial";
        this.box.append(this.partial);
      }
      this.partial.textContent = view.partial;
      this.partial.setAttribute("aria-label", `Provisional: ${view.partial}`);
    }
  }
}
