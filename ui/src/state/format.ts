// Durations as a person reads them.

/** Elapsed time on the big clock: `4:05`, `1:02:03`. */
export function clock(totalSecs: number): string {
  const secs = Math.max(0, Math.floor(totalSecs));
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A rough amount of time: `12 s`, `2 min`, `1 h 5 min`. */
export function roughly(totalSecs: number): string {
  const secs = Math.max(0, Math.round(totalSecs));
  if (secs < 60) return `${secs} s`;
  const mins = Math.round(secs / 60);
  if (mins < 60) return `${mins} min`;
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A date a person reads at a glance: `3 Dec 2026, 10:30` (in their locale). */
export function humanDate(unixMs: number, locale?: string): string {
  return new Date(unixMs).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** Samples a second in every offset the recorder and server exchange. */
export const SAMPLE_RATE = 16_000;

/** Where a line starts, from the start of the consultation: `4:05`, and the same as an ISO 8601 duration for `<time datetime>`. */
export function lineTime(startSample: number): { label: string; iso: string } {
  const secs = Math.max(0, Math.floor(startSample / SAMPLE_RATE));
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  return { label: clock(secs), iso: `PT${h ? `${h}H` : ""}${h || m ? `${m}M` : ""}${s}S` };
}

/** The input level in words, so the meter does not speak by colour alone. */
export function levelWords(peakDbfs: number): string {
  if (peakDbfs < -50) return "No sound";
  if (peakDbfs < -30) return "Quiet";
  if (peakDbfs <= -6) return "Good";
  return "Loud";
}

/** Seconds recorded so far: the time since the start, less every pause. */
export function recordedSecs(
  view: { started_at: number; paused_since: number | null; paused_ms: number },
  nowMs: number,
): number {
  const end = view.paused_since ?? nowMs;
  return Math.max(0, end - view.started_at - view.paused_ms) / 1000;
}
