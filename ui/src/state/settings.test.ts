import { test } from "node:test";
import assert from "node:assert/strict";
import { configNote, retentionNote, settingsForm } from "./settings.js";
import type { Resolved } from "../bindings/Resolved.js";
import type { UserSettings } from "../bindings/UserSettings.js";

const own: UserSettings = { microphone: null, language: "fr-FR", profile: "seed", global_shortcut: null };

function config(change: Partial<Resolved>): Resolved {
  return {
    server: "https://t.clinic.example",
    profile: "v1",
    language: "en-GB",
    global_shortcut: null,
    log_level: "info",
    audio_retention_days: 7,
    transcript_retention_days: 30,
    seed_pace: 1,
    require_consent: false,
    origins: {},
    locked: [],
    system_file: "/etc/consult-recorder/config.toml",
    system_file_found: true,
    problems: [],
    ...change,
  };
}

test("locked fields show IT's value read-only; the others the person's own", () => {
  const form = settingsForm(own, config({ locked: ["profile", "server"] }));
  assert.deepEqual(form.profile, { value: "v1", locked: true });
  assert.deepEqual(form.language, { value: "fr-FR", locked: false });
  assert.deepEqual(form.global_shortcut, { value: "", locked: false });
});

test("the note mentions locks and ignored entries, and is absent otherwise", () => {
  assert.equal(configNote(config({})), null);
  const note = configNote(
    config({
      locked: ["server"],
      problems: [
        { source: "/etc/consult-recorder/config.toml", line: 3, key: "colour", message: "unknown key; ignored" },
        { source: "CONSULT_PROFILE", line: null, key: "profile", message: "bad; ignored" },
      ],
    }),
  );
  assert.match(note ?? "", /set by your IT department/);
  assert.match(note ?? "", /2 configuration entries were ignored/);
});

test("the retention note says how long audio and transcripts stay", () => {
  assert.equal(
    retentionNote(config({})),
    "Recordings are deleted from this computer 7 days after the server has received them, " +
      "transcripts 30 days after.",
  );
  assert.match(retentionNote(config({ audio_retention_days: 0, transcript_retention_days: 1 })), /as soon as .* 1 day after/);
});
