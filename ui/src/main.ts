// The doctor's screen: wires the DOM to the app's commands and events.
// No framework: a handful of views, one event stream and plain DOM updates
// keep the bundle tiny and the CSP strict (no eval, no inline scripts).

import type { Event } from "./bindings/Event";
import type { InputDevice } from "./bindings/InputDevice";
import type { RecordingView } from "./bindings/RecordingView";
import type { RecordLink } from "./bindings/RecordLink";
import type { SessionView } from "./bindings/SessionView";
import type { Snapshot } from "./bindings/Snapshot";
import type { Status } from "./bindings/Status";
import { api, errorField, errorMessage } from "./ipc.js";
import { clock, humanDate, levelWords, recordedSecs } from "./state/format.js";
import { uploadText } from "./state/history.js";
import { type FieldName, configNote, retentionNote, settingsForm } from "./state/settings.js";
import { offerAnnouncement, offerLines } from "./state/link.js";
import { describeStatus, isNewState, outageBanner } from "./state/status.js";
import { Transcript } from "./state/transcript.js";
import { TranscriptDom, lineElement } from "./transcript-dom.js";

type View = "loading" | "signin" | "recorder" | "history" | "settings" | "about";

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

const state = {
  snapshot: null as Snapshot | null,
  status: null as Status | null,
  sessionId: null as string | null,
  /** The consultation stopped last: its upload is still announced. */
  stoppedId: null as string | null,
  startedAt: 0,
  transcript: new Transcript(),
  followLive: true,
  devices: [] as InputDevice[],
  /** The file the last export wrote, for "Show in folder". */
  exportedPath: null as string | null,
};

function announce(text: string): void {
  $("announcer").textContent = text;
}

function show(view: View): void {
  for (const v of ["loading", "signin", "recorder", "history", "settings", "about"] as View[]) {
    $(`view-${v}`).hidden = v !== view;
  }
  $("nav").hidden = view === "loading" || view === "signin";
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  if (view === "history") void renderHistory();
  if (view === "settings") renderSettings();
  if (view === "about") $("about-version").textContent = `Version ${state.snapshot?.version ?? ""}`;
  document.body.classList.toggle("is-recording", recording());
  // Keyboard and screen-reader users land at the top of the new view, not nowhere.
  if (view !== "loading") $(`${view}-title`).focus();
}

// ---- Snapshot and banner ----------------------------------------------------

function applySnapshot(s: Snapshot): void {
  state.snapshot = s;
  const server = $<HTMLInputElement>("signin-server");
  server.value = s.server ?? "";
  server.readOnly = s.server_locked;
  $("signin-server-note").hidden = !s.server_locked;
  if (s.auth.state !== "signed_out") $<HTMLInputElement>("signin-email").value = s.auth.account;
  if (s.recording) {
    state.sessionId = s.recording.id;
    state.startedAt = s.recording.started_at;
    showRecordingFor(s.recording.reference);
  }
  // Required by the clinic's administrator: asked before every recording.
  $("consent-row").hidden = !s.config.require_consent;
  $("link-offer-consent-row").hidden = !s.config.require_consent;
  renderOffer(s.link_offer);
  renderBanner();
  renderRecordButton();
  $("account-line").textContent =
    s.auth.state === "signed_out" ? "Not signed in." : `Signed in as ${s.auth.account} at ${s.server ?? ""}.`;
}

function renderBanner(): void {
  const s = state.snapshot;
  const banner = $("banner");
  const outage = outageBanner(state.status, s?.recording != null);
  let text = "";
  if (s?.auth.state === "sign_in_required" || state.status?.state === "sign_in_required") {
    text = s?.recording
      ? "Please sign in again — recording continues and nothing is lost; the upload resumes after you sign in."
      : "Please sign in again.";
  } else if (outage !== null) {
    text = outage;
  } else if (s?.clock_warning) {
    text = s.clock_warning;
  }
  banner.textContent = text;
  banner.hidden = text === "";
  if (text.startsWith("Please sign in") && s?.recording) {
    // Sign in without leaving the recording: the form sits under the banner.
    $("view-signin").hidden = false;
  }
}

// ---- Recorder -----------------------------------------------------------------

function recording(): boolean {
  return state.snapshot?.recording != null;
}

function renderRecordButton(): void {
  const button = $<HTMLButtonElement>("record");
  const on = recording();
  button.textContent = on ? "Stop recording" : "Start recording";
  button.classList.toggle("recording", on);
  $<HTMLInputElement>("reference").readOnly = on;
  $<HTMLInputElement>("consultation-id").readOnly = on;
  $<HTMLInputElement>("consent").disabled = on;
  $<HTMLSelectElement>("microphone").disabled = on;
  document.body.classList.toggle("is-recording", on);
  if (!on) $("recording-for").hidden = true;
  const pause = $<HTMLButtonElement>("pause");
  pause.hidden = !on;
  pause.textContent = paused() ? "Resume" : "Pause";
  pause.setAttribute("aria-pressed", String(paused()));
}

/** While recording, whose consultation it is stays in view beside the timer. */
function showRecordingFor(reference: string): void {
  const line = $("recording-for");
  const doing = paused() ? "Paused" : "Recording";
  line.textContent = reference ? `${doing}: ${reference}` : doing;
  line.hidden = false;
}

/**
 * The screen of a consultation that is over: nothing of it stays on screen
 * for the next patient (or the next doctor on a shared computer). Its text
 * and upload state stay in History.
 */
function startClean(): void {
  for (const id of ["reference", "consultation-id"]) $<HTMLInputElement>(id).value = "";
  $<HTMLInputElement>("consent").checked = false;
  state.stoppedId = state.sessionId;
  state.sessionId = null;
  state.transcript.clear();
  renderTranscript();
  for (const id of ["mic-note", "awake-note", "link-refused", "status-detail"]) $(id).hidden = true;
  $("recording-for").hidden = true;
  $("elapsed").textContent = "0:00";
}

function renderStatus(): void {
  // While paused, that is what matters; the connection waits for Resume.
  const text = paused()
    ? { label: "Paused", tone: "warn", detail: "Paused: nothing is being recorded. Press Resume to go on." }
    : describeStatus(state.status);
  const pill = $("status-pill");
  pill.textContent = text.label;
  pill.className = `pill ${text.tone}`;
  pill.title = text.detail;
  $("status-detail").textContent = text.detail;
  renderBanner();
}

let transcriptDom: TranscriptDom | null = null;

function renderTranscript(): void {
  const box = $("transcript");
  transcriptDom ??= new TranscriptDom(box);
  transcriptDom.render(state.transcript.view());
  if (state.followLive) box.scrollTop = box.scrollHeight;
}

async function toggleRecording(): Promise<void> {
  const button = $<HTMLButtonElement>("record");
  button.disabled = true;
  try {
    if (recording()) {
      await api.stopRecording();
      startClean();
      announce("Recording stopped. Its text is in History; the rest is being uploaded.");
    } else {
      state.transcript.clear();
      state.status = null;
      renderTranscript();
      const consultationId = $<HTMLInputElement>("consultation-id").value.trim();
      const view = await api.startRecording(
        $<HTMLInputElement>("reference").value,
        consultationId || null,
        $<HTMLInputElement>("consent").checked,
      );
      began(view);
    }
    applySnapshot(await api.snapshot());
  } catch (err) {
    $("mic-note").hidden = false;
    $("mic-note").textContent = errorMessage(err);
    announce(errorMessage(err));
  } finally {
    button.disabled = false;
    // Disabled during the call, the button lost the keyboard focus: give it
    // back, so that Space stops what Space started.
    button.focus();
  }
}

/** A recording began (from the button or a confirmed link). */
function began(view: RecordingView): void {
  $("link-refused").hidden = true;
  $("mic-note").hidden = true;
  state.sessionId = view.id;
  state.startedAt = view.started_at;
  showRecordingFor(view.reference);
  announce("Recording started.");
}

// ---- Links from the clinic's system ---------------------------------------------

/** Shows the offered link (or hides the panel when there is none). */
function renderOffer(link: RecordLink | null): void {
  const panel = $("link-offer");
  const wasHidden = panel.hidden;
  panel.hidden = link === null;
  if (link === null) return;
  $("link-offer-details").replaceChildren(
    ...offerLines(link).flatMap((line) => {
      const dt = document.createElement("dt");
      dt.textContent = line.label;
      const dd = document.createElement("dd");
      dd.textContent = line.value;
      return [dt, dd];
    }),
  );
  if (wasHidden) {
    $("link-offer-error").hidden = true;
    $("link-refused").hidden = true;
    $<HTMLInputElement>("link-offer-consent").checked = false;
  }
}

/** A new offer: bring the recorder forward and put the doctor on it. */
function offerArrived(link: RecordLink): void {
  renderOffer(link);
  if (state.snapshot?.auth.state !== "signed_out") show("recorder");
  $("link-offer-title").focus();
  announce(offerAnnouncement(link));
}

async function acceptOffer(): Promise<void> {
  const start = $<HTMLButtonElement>("link-offer-start");
  start.disabled = true;
  try {
    const view = await api.acceptLink($<HTMLInputElement>("link-offer-consent").checked);
    state.transcript.clear();
    state.status = null;
    renderTranscript();
    $<HTMLInputElement>("reference").value = view.reference;
    $<HTMLInputElement>("consultation-id").value = view.id;
    began(view);
    applySnapshot(await api.snapshot());
    $("record").focus();
  } catch (err) {
    $("link-offer-error").hidden = false;
    $("link-offer-error").textContent = errorMessage(err);
  } finally {
    start.disabled = false;
  }
}

async function dismissOffer(): Promise<void> {
  await api.dismissLink();
  applySnapshot(await api.snapshot());
  $("record").focus();
}

function tick(): void {
  const view = state.snapshot?.recording;
  if (view) $("elapsed").textContent = clock(recordedSecs(view, Date.now()));
}

function paused(): boolean {
  return state.snapshot?.recording?.paused_since != null;
}

/** Pause or Resume: nothing is recorded while paused; the clock stops too. */
async function togglePause(): Promise<void> {
  const button = $<HTMLButtonElement>("pause");
  button.disabled = true;
  try {
    const view = await api.pauseRecording(!paused());
    if (state.snapshot) state.snapshot.recording = view;
    renderRecordButton();
    showRecordingFor(view.reference);
    renderStatus();
    tick();
    announce(view.paused_since != null ? "Recording paused. Nothing is recorded until you resume." : "Recording resumed.");
  } catch (err) {
    $("mic-note").hidden = false;
    $("mic-note").textContent = errorMessage(err);
  } finally {
    button.disabled = false;
    button.focus();
  }
}

async function loadDevices(): Promise<void> {
  try {
    state.devices = await api.devices();
  } catch (err) {
    state.devices = [];
    $("mic-note").hidden = false;
    $("mic-note").textContent = errorMessage(err);
  }
  const chosen = state.snapshot?.settings.microphone ?? null;
  for (const id of ["microphone", "settings-microphone"]) {
    const select = $<HTMLSelectElement>(id);
    select.replaceChildren(
      ...state.devices.map((d) => {
        const o = document.createElement("option");
        o.value = d.id;
        o.textContent = d.is_default && !/default/i.test(d.name) ? `${d.name} (system default)` : d.name;
        o.selected = chosen ? d.id === chosen : d.is_default;
        return o;
      }),
    );
  }
}

async function chooseMicrophone(id: string): Promise<void> {
  if (!state.snapshot) return;
  applySnapshot(await api.saveSettings({ ...state.snapshot.settings, microphone: id }));
}

// ---- Events -----------------------------------------------------------------

function onEvent(event: Event): void {
  switch (event.type) {
    case "status": {
      const changed = isNewState(state.status, event.status);
      state.status = event.status;
      renderStatus();
      // The banner (role=alert) speaks for an outage; retries are not news.
      const outage = outageBanner(event.status, recording()) !== null;
      if (changed && !outage && [state.sessionId, state.stoppedId].includes(event.session_id)) {
        announce(describeStatus(event.status).detail);
      }
      // History's upload column follows the connection (offline: waiting).
      if (changed || ["complete", "sent", "failed"].includes(event.status.state)) refreshHistory();
      break;
    }
    case "transcript":
      if (event.session_id === state.sessionId) {
        state.transcript.apply(event.update);
        renderTranscript();
      }
      break;
    case "level":
      showLevel(event.level.peak_dbfs);
      break;
    case "microphone":
      if (event.change.kind === "signal_back") {
        // Sound again: the silence notice has done its job.
        $("mic-note").hidden = true;
        break;
      }
      $("mic-note").hidden = false;
      $("mic-note").textContent = event.message;
      announce(event.message);
      break;
    case "warning":
      $("mic-note").hidden = false;
      $("mic-note").textContent = event.message;
      break;
    case "paused":
      if (event.session_id !== state.sessionId) break;
      // The pause shortcut works without the window: show what it did.
      if (event.paused !== paused()) {
        void api.snapshot().then((s) => {
          applySnapshot(s);
          renderRecordButton();
          renderStatus();
          tick();
        });
      }
      if (event.paused) {
        state.transcript.markGap(event.at, "Paused here: nothing was recorded during the pause.");
        renderTranscript();
      }
      break;
    case "slept":
      if (event.session_id !== state.sessionId) break;
      state.transcript.markGap(event.at, event.message);
      renderTranscript();
      $("awake-note").hidden = false;
      $("awake-note").textContent = event.message;
      announce(event.message);
      break;
    case "keep_awake":
      // Only a recording the computer may sleep through is worth a word. The
      // answer can come before the start call returns the recording's id.
      if (state.sessionId !== null && event.session_id !== state.sessionId) break;
      if (event.state.state === "unavailable") {
        // Said once a recording, not again at each resume.
        if ($("awake-note").hidden) announce(event.state.message);
        $("awake-note").textContent = event.state.message;
        $("awake-note").hidden = false;
      } else {
        $("awake-note").hidden = true;
      }
      break;
    case "recording":
      void api.snapshot().then(applySnapshot);
      refreshHistory();
      break;
    case "auth":
      void api.snapshot().then(applySnapshot);
      break;
    case "progress":
      break;
    case "link":
      if (event.event === "offered") offerArrived(event.link);
      else if (event.event === "refused") {
        $("link-refused").hidden = false;
        $("link-refused").textContent = event.message;
      } else renderOffer(null);
      break;
  }
}

/** The meter, and its reading in words (changed only when the words change). */
function showLevel(peakDbfs: number): void {
  const meter = $<HTMLMeterElement>("level");
  meter.value = Math.max(-60, peakDbfs);
  const words = levelWords(peakDbfs);
  if ($("level-words").textContent !== words) {
    $("level-words").textContent = words;
    meter.setAttribute("aria-valuetext", words);
  }
}

/** A time clicked in history: its line, marked and centred among its neighbours. */
function showLineInContext(event: MouseEvent): void {
  const link = (event.target as Element).closest("a");
  if (link === null) return;
  event.preventDefault();
  const line = link.closest("p");
  if (line === null) return;
  for (const marked of $("history-transcript").querySelectorAll("[aria-current]")) marked.removeAttribute("aria-current");
  line.setAttribute("aria-current", "true");
  line.tabIndex = -1;
  line.focus({ preventScroll: true });
  line.scrollIntoView({ block: "center" });
}

// ---- History ------------------------------------------------------------------

/** The history on screen follows a session that finishes while it is shown. */
function refreshHistory(): void {
  if (!$("view-history").hidden) void renderHistory();
}

/** Whether the server cannot be reached now (History's uploads wait for it). */
function offline(): boolean {
  return outageBanner(state.status, false) !== null;
}

async function renderHistory(): Promise<void> {
  let sessions: SessionView[];
  try {
    sessions = await api.sessions();
  } catch (err) {
    $("history-empty").hidden = false;
    $("history-empty").textContent = errorMessage(err);
    return;
  }
  $("history-empty").hidden = sessions.length > 0;
  $("history-table").hidden = sessions.length === 0;
  $("history-rows").replaceChildren(
    ...sessions.map((s) => {
      const row = document.createElement("tr");
      row.dataset.session = s.id;
      const cells = [humanDate(s.started_at), s.reference || "—", clock(s.duration_secs), uploadText(s, offline())];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        row.append(td);
      }
      const actions = document.createElement("td");
      const button = (label: string, action: () => void) => {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.setAttribute("aria-label", `${label}: ${s.reference || humanDate(s.started_at)}`);
        b.addEventListener("click", action);
        actions.append(b);
        return b;
      };
      button("Open", () => void openTranscript(s));
      button("Export .txt", () => void exportTranscript(s, "txt"));
      button("Export .json", () => void exportTranscript(s, "json"));
      if (s.state === "sent") button("Send again", () => void resendSession(s));
      // Apart from the rest, and unlike them: it cannot be undone.
      button("Delete", () => void deleteSession(s)).classList.add("danger");
      row.append(actions);
      return row;
    }),
  );
}

async function openTranscript(s: SessionView): Promise<void> {
  const segments = await api.transcript(s.id);
  $("history-detail").hidden = false;
  $("history-detail-title").textContent = `Transcript — ${s.reference || humanDate(s.started_at)}`;
  $("history-detail-id").textContent = `Consultation ID: ${s.id}`;
  const box = $("history-transcript");
  if (segments.length) box.replaceChildren(...segments.map((x) => lineElement(x, "link")));
  else box.textContent = "(no text yet)";
  $("history-note").textContent = "";
  $("history-show").hidden = true;
}

async function exportTranscript(s: SessionView, format: "txt" | "json"): Promise<void> {
  try {
    const path = await api.exportTranscript(s.id, format);
    $("history-detail").hidden = false;
    $("history-note").textContent = `Saved to ${path}`;
    state.exportedPath = path;
    $("history-show").hidden = false;
    announce(`Transcript saved to ${path}`);
  } catch (err) {
    $("history-note").textContent = errorMessage(err);
    $("history-show").hidden = true;
  }
}

/** Opens the desktop's file manager where the last export is. */
async function showExport(): Promise<void> {
  if (!state.exportedPath) return;
  try {
    await api.showExport(state.exportedPath);
    $("history-note").textContent = `Opened the folder of ${state.exportedPath}`;
  } catch (err) {
    $("history-note").textContent = errorMessage(err);
  }
}

async function resendSession(s: SessionView): Promise<void> {
  try {
    await api.resendSession(s.id);
    announce("Sending the recording again.");
  } catch (err) {
    $("history-note").textContent = errorMessage(err);
  }
  await renderHistory();
}

/**
 * Copies what `element` shows to the clipboard; where the clipboard is
 * refused, selects it so Ctrl+C copies it. Says which in `note`, on screen
 * and to screen readers.
 */
async function copyOrSelect(element: HTMLElement, note: HTMLElement, copied: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(element.textContent ?? "");
    note.textContent = copied;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    window.getSelection()?.removeAllRanges();
    window.getSelection()?.addRange(range);
    note.textContent = `${what} is selected: press Ctrl+C to copy it.`;
  }
  note.hidden = false;
  announce(note.textContent ?? "");
}

function copyTranscript(): Promise<void> {
  return copyOrSelect($("history-transcript"), $("history-note"), "Transcript copied.", "The transcript");
}

/** Asks in the app's own dialog, with Cancel focused: `true` to delete. */
function confirmDelete(what: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("confirm-delete");
  $("confirm-delete-what").textContent = what;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-delete-cancel").focus();
  });
}

async function deleteSession(s: SessionView): Promise<void> {
  const row = document.activeElement as HTMLElement | null;
  const confirmed = await confirmDelete(s.reference || humanDate(s.started_at));
  if (!confirmed) {
    row?.focus();
    return;
  }
  try {
    await api.deleteSession(s.id);
    $("history-detail").hidden = true;
    announce("Deleted.");
  } catch (err) {
    $("history-note").textContent = errorMessage(err);
  }
  await renderHistory();
  $("history-title").focus();
}

// ---- Settings and about ---------------------------------------------------------

const SETTINGS_FIELDS: Record<FieldName, string> = {
  language: "settings-language",
  profile: "settings-profile",
  global_shortcut: "settings-shortcut",
};

function renderSettings(): void {
  const snapshot = state.snapshot;
  if (!snapshot) return;
  const form = settingsForm(snapshot.settings, snapshot.config);
  for (const [name, id] of Object.entries(SETTINGS_FIELDS) as [FieldName, string][]) {
    const input = $<HTMLInputElement | HTMLSelectElement>(id);
    input.value = form[name].value;
    input.disabled = form[name].locked;
    input.title = form[name].locked ? "Set by your IT department" : "";
  }
  const note = configNote(snapshot.config);
  $("settings-note").hidden = note === null;
  $("settings-note").textContent = note ?? "";
  $("retention-note").textContent = retentionNote(snapshot.config);
}

/** A field's value to save: nothing for a locked one (IT's value stays in force). */
function ownValue(id: string): string | null {
  const input = $<HTMLInputElement | HTMLSelectElement>(id);
  return input.disabled ? null : input.value.trim() || null;
}

/** The per-field messages under the settings form's fields. */
const SETTINGS_ERRORS = ["microphone", "language", "global_shortcut"];

async function saveSettings(e: SubmitEvent): Promise<void> {
  e.preventDefault();
  const error = $("settings-error");
  const profile = ownValue("settings-profile");
  for (const f of SETTINGS_ERRORS) $(`settings-${f}-error`).hidden = true;
  error.hidden = true;
  $("settings-saved").hidden = true;
  try {
    applySnapshot(
      await api.saveSettings({
        microphone: $<HTMLSelectElement>("settings-microphone").value || null,
        language: ownValue("settings-language"),
        profile: profile === "seed" || profile === "v1" ? profile : null,
        global_shortcut: ownValue("settings-shortcut"),
      }),
    );
    $("settings-saved").hidden = false;
    announce("Settings saved.");
    await loadDevices();
  } catch (err) {
    // Beside the field it is about, when the app says which; else under the form.
    const field = errorField(err);
    const beside = field && SETTINGS_ERRORS.includes(field) ? $(`settings-${field}-error`) : error;
    beside.hidden = false;
    beside.textContent = errorMessage(err);
    announce(errorMessage(err));
  }
}

async function runDiagnostics(): Promise<void> {
  const out = $("diagnostics");
  out.hidden = false;
  out.textContent = "Running…";
  const report = await api.diagnostics();
  out.textContent = report;
  await copyOrSelect(
    out,
    $("diagnostics-note"),
    "The report was copied; paste it into your message to IT.",
    "The report",
  );
}

// ---- Sign-in ------------------------------------------------------------------

async function signIn(e: SubmitEvent): Promise<void> {
  e.preventDefault();
  const error = $("signin-error");
  const submit = $<HTMLButtonElement>("signin-submit");
  const password = $<HTMLInputElement>("signin-password");
  submit.disabled = true;
  error.hidden = true;
  try {
    const s = await api.signIn(
      $<HTMLInputElement>("signin-server").value,
      $<HTMLInputElement>("signin-email").value,
      password.value,
    );
    password.value = "";
    applySnapshot(s);
    announce("Signed in.");
    await loadDevices();
    show("recorder");
  } catch (err) {
    error.hidden = false;
    error.textContent = errorMessage(err);
  } finally {
    submit.disabled = false;
  }
}

async function signOut(): Promise<void> {
  try {
    applySnapshot(await api.signOut());
    if (!recording()) {
      startClean();
      // Nothing of the last doctor's history stays on screen either.
      $("history-detail").hidden = true;
      $("history-transcript").textContent = "";
      $("history-note").textContent = "";
      $("history-show").hidden = true;
      state.exportedPath = null;
      $("history-rows").replaceChildren();
    }
    show("signin");
  } catch (err) {
    $("account-line").textContent = errorMessage(err);
  }
}

// ---- Start ----------------------------------------------------------------------

async function start(): Promise<void> {
  $("signin-form").addEventListener("submit", (e) => void signIn(e as SubmitEvent));
  $("settings-form").addEventListener("submit", (e) => void saveSettings(e as SubmitEvent));
  $("record").addEventListener("click", () => void toggleRecording());
  $("pause").addEventListener("click", () => void togglePause());
  $("history-transcript").addEventListener("click", showLineInContext);
  $("signout").addEventListener("click", () => void signOut());
  $("link-offer-start").addEventListener("click", () => void acceptOffer());
  $("link-offer-dismiss").addEventListener("click", () => void dismissOffer());
  $("run-diagnostics").addEventListener("click", () => void runDiagnostics());
  $("history-copy").addEventListener("click", () => void copyTranscript());
  $("history-show").addEventListener("click", () => void showExport());
  $<HTMLSelectElement>("microphone").addEventListener("change", (e) => void chooseMicrophone((e.target as HTMLSelectElement).value));
  $("status-pill").addEventListener("click", () => {
    const detail = $("status-detail");
    detail.hidden = !detail.hidden;
    $("status-pill").setAttribute("aria-expanded", String(!detail.hidden));
  });
  const box = $("transcript");
  box.addEventListener("scroll", () => {
    state.followLive = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    $("jump-live").hidden = state.followLive;
  });
  $("jump-live").addEventListener("click", () => {
    state.followLive = true;
    $("jump-live").hidden = true;
    renderTranscript();
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
    b.addEventListener("click", () => show(b.dataset.view as View));
  }
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "r" && !$("view-recorder").hidden) {
      e.preventDefault();
      void toggleRecording();
    }
  });

  await api.onEvent(onEvent);
  applySnapshot(await api.snapshot());
  setInterval(tick, 250);
  if (state.snapshot?.auth.state === "signed_out") {
    show("signin");
  } else {
    await loadDevices();
    show("recorder");
  }
}

start().catch((err) => {
  $("view-loading").textContent = errorMessage(err);
});
