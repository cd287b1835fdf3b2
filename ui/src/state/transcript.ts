// The live transcript: settled finals in order, and at most one provisional
// partial after them. Finals are keyed by where they start, so a final sent
// twice (after a reconnect) is shown once.

import type { TranscriptUpdate } from "../bindings/TranscriptUpdate";

export interface Line {
  start: number;
  end: number;
  text: string;
}

export interface TranscriptView {
  finals: Line[];
  /** Provisional text after the last final, or `null`. */
  partial: string | null;
}

export class Transcript {
  private finals = new Map<number, Line>();
  private partial: Line | null = null;

  apply(update: TranscriptUpdate): void {
    if (update.is_final) {
      if (update.text.trim() !== "") {
        this.finals.set(update.start, { start: update.start, end: update.end, text: update.text });
      }
      // A final ends whatever partial it covers.
      if (this.partial !== null && this.partial.start < update.end) {
        this.partial = null;
      }
    } else {
      this.partial = update.text.trim() === "" ? null : { start: update.start, end: update.end, text: update.text };
    }
  }

  clear(): void {
    this.finals.clear();
    this.partial = null;
  }

  view(): TranscriptView {
    const finals = [...this.finals.values()].sort((a, b) => a.start - b.start);
    return { finals, partial: this.partial?.text ?? null };
  }

  /** Plain text of the settled lines, one per line. */
  text(): string {
    return this.view().finals.map((l) => l.text).join("\n");
  }
}
