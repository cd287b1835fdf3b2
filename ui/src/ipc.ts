// The only door to the app: typed calls to the Rust commands and the one
// event stream. The webview has no network access of its own.

import type { AppError } from "./bindings/AppError";
import type { Event } from "./bindings/Event";
import type { ExportFormat } from "./bindings/ExportFormat";
import type { InputDevice } from "./bindings/InputDevice";
import type { RecordingView } from "./bindings/RecordingView";
import type { Segment } from "./bindings/Segment";
import type { SessionView } from "./bindings/SessionView";
import type { Snapshot } from "./bindings/Snapshot";
import type { UserSettings } from "./bindings/UserSettings";

interface TauriGlobal {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: { listen<T>(name: string, handler: (e: { payload: T }) => void): Promise<() => void> };
}

function tauri(): TauriGlobal {
  const t = (window as unknown as { __TAURI__?: TauriGlobal }).__TAURI__;
  if (!t) throw new Error("This page only works inside the Consult Recorder app.");
  return t;
}

/** Errors from the app are sentences; anything else becomes one. */
export function errorMessage(err: unknown): string {
  if (typeof err === "object" && err !== null && "message" in err) {
    return String((err as AppError).message);
  }
  return String(err);
}

/** The form field an error is about (as named in the settings file), if any. */
export function errorField(err: unknown): string | null {
  if (typeof err === "object" && err !== null && "field" in err) {
    return String((err as AppError).field ?? "") || null;
  }
  return null;
}

const call = <T>(cmd: string, args?: Record<string, unknown>) => tauri().core.invoke<T>(cmd, args);

export const api = {
  snapshot: () => call<Snapshot>("snapshot"),
  signIn: (server: string, email: string, password: string) => call<Snapshot>("sign_in", { server, email, password }),
  signOut: () => call<Snapshot>("sign_out"),
  devices: () => call<InputDevice[]>("devices"),
  saveSettings: (settings: UserSettings) => call<Snapshot>("save_settings", { settings }),
  startRecording: (reference: string, sessionId: string | null, consentConfirmed: boolean) =>
    call<RecordingView>("start_recording", { reference, sessionId, consentConfirmed }),
  acceptLink: (consentConfirmed: boolean) => call<RecordingView>("accept_link", { consentConfirmed }),
  dismissLink: () => call<null>("dismiss_link"),
  stopRecording: () => call<string | null>("stop_recording"),
  pauseRecording: (paused: boolean) => call<RecordingView>("pause_recording", { paused }),
  sessions: () => call<SessionView[]>("sessions"),
  transcript: (id: string) => call<Segment[]>("transcript", { id }),
  exportTranscript: (id: string, format: ExportFormat) => call<string>("export_transcript", { id, format }),
  showExport: (path: string) => call<null>("show_export", { path }),
  deleteSession: (id: string) => call<null>("delete_session", { id }),
  resendSession: (id: string) => call<null>("resend_session", { id }),
  diagnostics: () => call<string>("diagnostics"),
  onEvent: (handler: (event: Event) => void) => tauri().event.listen<Event>("recorder-event", (e) => handler(e.payload)),
};
