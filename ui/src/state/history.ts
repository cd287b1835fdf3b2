// What History says about a session's upload.

import type { SessionView } from "../bindings/SessionView";
import { roughly } from "./format.js";

/**
 * The upload column. `offline`: the server cannot be reached now, so a
 * session with audio left to send is waiting for it, not uploading.
 */
export function uploadText(s: SessionView, offline: boolean): string {
  // What the server confirmed wins over the app still winding the session down.
  if (s.state === "complete") return "Uploaded";
  if (s.state === "sent") return "Sent (this server does not confirm receipt)";
  if (s.state === "failed") return `Problem: ${s.failure ?? "unknown"}`;
  if (s.recording) return "Recording";
  if (offline) return `Waiting for the connection — ${roughly(s.pending_secs)} to send`;
  if (s.uploading) return `Uploading — ${roughly(s.pending_secs)} left`;
  return `Waiting — ${roughly(s.pending_secs)} to send`;
}
