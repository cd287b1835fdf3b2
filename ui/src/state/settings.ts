// The settings form from the configuration in force: what each field shows,
// and which ones the clinic's IT has fixed (shown read-only).

import type { Resolved } from "../bindings/Resolved.js";
import type { UserSettings } from "../bindings/UserSettings.js";

export type FieldName = "language" | "profile" | "global_shortcut";

export interface Field {
  /** What the field shows. */
  value: string;
  /** Set by IT: read-only, and not sent back. */
  locked: boolean;
}

export type SettingsForm = Record<FieldName, Field>;

export function settingsForm(settings: UserSettings, config: Resolved): SettingsForm {
  const field = (name: FieldName, own: string | null, inForce: string | null): Field =>
    config.locked.includes(name) ? { value: inForce ?? "", locked: true } : { value: own ?? "", locked: false };
  return {
    language: field("language", settings.language, config.language),
    profile: field("profile", settings.profile, config.profile),
    global_shortcut: field("global_shortcut", settings.global_shortcut, config.global_shortcut),
  };
}

/** One sentence for the settings page, or null when there is nothing to say. */
export function configNote(config: Resolved): string | null {
  const parts: string[] = [];
  if (config.locked.length > 0) {
    parts.push("Some settings are set by your IT department and cannot be changed here.");
  }
  if (config.problems.length > 0) {
    const n = config.problems.length;
    parts.push(
      `${n} configuration ${n === 1 ? "entry was" : "entries were"} ignored; ` +
        "the diagnostics report (About) lists them for IT.",
    );
  }
  return parts.length > 0 ? parts.join(" ") : null;
}

/** How long this computer keeps a consultation after the server has all of it. */
export function retentionNote(config: Resolved): string {
  const days = (n: number) => (n === 0 ? "as soon as" : `${n} day${n === 1 ? "" : "s"} after`);
  return (
    `Recordings are deleted from this computer ${days(config.audio_retention_days)} ` +
    `the server has received them, transcripts ${days(config.transcript_retention_days)}.`
  );
}
