// The live transcript: settled finals in order, and at most one provisional
// partial after them. Finals are keyed by where they start, so a final sent
// twice (after a reconnect) is shown once.

import type { TranscriptUpdate } from "../bindings/TranscriptUpdate";

export interface Line {
  start: number;
  end: number;
  text: string;
  /** A gap in the recording (the computer slept), not words. */
  gap?: boolean;
}

export interface TranscriptView {
  finals: readonly Line[];
  /** Provisional text after the last final, or `null`. */
  partial: string | null;
}

export class Transcript {
  /** Settled lines ordered by start; a line, once added, keeps its identity. */
  private finals: Line[] = [];
  private partial: Line | null = null;

  apply(update: TranscriptUpdate): void {
    if (update.is_final) {
      if (update.text.trim() !== "") {
        this.settle({ start: update.start, end: update.end, text: update.text });
      }
      // A final ends whatever partial it covers.
      if (this.partial !== null && this.partial.start < update.end) {
        this.partial = null;
      }
    } else {
      this.partial = update.text.trim() === "" ? null : { start: update.start, end: update.end, text: update.text };
    }
  }

  /** Marks a gap at sample `at`: shown before any words that start there. */
  markGap(at: number, text: string): void {
    this.settle({ start: at - 0.5, end: at, text, gap: true });
  }

  clear(): void {
    this.finals = [];
    this.partial = null;
  }

  /** The lines to show. `finals` is the transcript's own array: read it, never change it. */
  view(): TranscriptView {
    return { finals: this.finals, partial: this.partial?.text ?? null };
  }

  /** Finals nearly always come in order: append in O(1); otherwise insert or replace in place. */
  private settle(line: Line): void {
    const last = this.finals[this.finals.length - 1];
    if (last === undefined || last.start < line.start) {
      this.finals.push(line);
      return;
    }
    let low = 0;
    let high = this.finals.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.finals[mid].start < line.start) low = mid + 1;
      else high = mid;
    }
    const same = this.finals[low];
    if (same !== undefined && same.start === line.start) {
      // Sent again after a reconnect: keep the shown line unless the words changed.
      if (same.text !== line.text || same.end !== line.end) this.finals[low] = line;
    } else {
      this.finals.splice(low, 0, line);
    }
  }

  /** Plain text of the settled lines, one per line. */
  text(): string {
    return this.view()
      .finals.filter((l) => !l.gap)
      .map((l) => l.text)
      .join("\n");
  }
}
