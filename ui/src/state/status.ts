// What the status pill says about the connection, and the detail behind it.

import type { Status } from "../bindings/Status";
import { roughly } from "./format.js";

export type Tone = "ok" | "busy" | "warn" | "error" | "idle";

export interface StatusText {
  /** Short, for the pill. */
  label: string;
  /** One sentence, for hover/click and the screen reader. */
  detail: string;
  tone: Tone;
}

/** The pill for the current status (`null`: nothing is being sent). */
export function describeStatus(status: Status | null): StatusText {
  if (status === null) {
    return { label: "Ready", detail: "Nothing is being recorded or sent.", tone: "idle" };
  }
  switch (status.state) {
    case "connecting":
      return { label: "Connecting", detail: "Connecting to the transcription server…", tone: "busy" };
    case "connected":
      return { label: "Connected", detail: "Audio is reaching the server; text appears as it is recognised.", tone: "ok" };
    case "reconnecting":
      return {
        label: "Reconnecting",
        detail: `Reconnecting — next try in ${roughly(status.next_try_in_ms / 1000)}. Recording continues and is kept safely on this computer. (${status.reason})`,
        tone: "warn",
      };
    case "offline":
      return {
        label: "Offline",
        detail: `Offline — ${roughly(status.buffered_secs)} recorded on this computer, safe. Trying again in ${roughly(status.next_try_in_ms / 1000)}.`,
        tone: "warn",
      };
    case "uploading_backlog":
      return {
        label: "Catching up",
        detail: `Uploading the audio recorded while offline — ${roughly(status.seconds_left)} left.`,
        tone: "busy",
      };
    case "sign_in_required":
      return {
        label: "Sign-in needed",
        detail: "Please sign in again. Recording continues; the upload resumes once you have signed in.",
        tone: "warn",
      };
    case "finishing":
      return { label: "Finishing", detail: "Sending the last audio and waiting for the final text.", tone: "busy" };
    case "complete":
      return { label: "Uploaded", detail: "The server has confirmed the whole recording.", tone: "ok" };
    case "sent":
      return {
        label: "Sent",
        detail:
          "All the audio was sent. This server does not confirm what it stores, so the recording stays on this computer and can be sent again.",
        tone: "ok",
      };
    case "failed":
      return { label: "Problem", detail: status.reason, tone: "error" };
  }
}

/**
 * The banner's sentence while the server cannot be reached, or `null`.
 * Fixed words (no counters) so it never flickers, and it says the one
 * thing that matters: nothing is lost.
 */
export function outageBanner(status: Status | null, recording: boolean): string | null {
  if (status?.state !== "reconnecting" && status?.state !== "offline") return null;
  return recording
    ? "Connection lost — still recording safely on this computer; the text will catch up when the connection is back."
    : "Connection lost — the recording is kept safely on this computer and will be sent when the connection is back.";
}

/** Whether a new status is worth saying aloud: a change of state, not every retry. */
export function isNewState(previous: Status | null, next: Status): boolean {
  return previous?.state !== next.state;
}
