//! The microphone as an audio source, with cpal.
//!
//! The device's callback only converts samples to floats and copies them into
//! a lock-free single-producer ring: it never blocks, locks or allocates. A
//! full ring is counted, never silent. Resampling and framing happen on the
//! reading side ([`super::dsp`]). The cpal stream lives on a thread of its own,
//! since streams may not move between threads on every platform.
//!
//! A device that disappears (reported by cpal, or simply silent for
//! [`STALL_AFTER`]) is rebuilt with backoff — the same device if it returns,
//! the default otherwise — while the session goes on; the frames continue
//! their numbering, so the recording has no hole, only the missing time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, FromSample, Sample, SampleFormat, SizedSample};

use super::device_list::{human_name, is_choosable};
use super::dsp::{Dsp, SampleBlock};
use super::notice::{MicChange, NO_SIGNAL_AFTER_SECS, SourceNotice};
use super::{AudioError, AudioSource, Frame};
use crate::backoff::Backoff;

/// An input device as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct InputDevice {
    /// Stable across runs where the platform allows: remember this one.
    pub id: String,
    /// The name to show: "System default microphone", a sound server, or the
    /// card's own description.
    pub name: String,
    /// Whether this is the system's default input, the one used when none is
    /// chosen (or the chosen one is missing).
    pub is_default: bool,
}

/// The input devices of the default host a person may choose (see
/// [`super::device_list`]), the default first.
pub fn input_devices() -> Result<Vec<InputDevice>, AudioError> {
    super::library_messages::quietly(list_input_devices)
}

fn list_input_devices() -> Result<Vec<InputDevice>, AudioError> {
    let host = cpal::default_host();
    let default_id = host
        .default_input_device()
        .and_then(|d| d.id().ok())
        .map(|id| id.to_string());
    let mut listed: Vec<InputDevice> = Vec::new();
    // The default device first: ALSA does not list its `default` among the rest.
    if let Some(device) = host.default_input_device()
        && let Ok(id) = device.id()
    {
        let id = id.to_string();
        listed.push(InputDevice {
            name: human_name(&id, &device.to_string()),
            id,
            is_default: true,
        });
    }
    let devices = host
        .input_devices()
        .map_err(|e| AudioError::Device(e.to_string()))?;
    for device in devices {
        let Ok(id) = device.id().map(|id| id.to_string()) else {
            continue;
        };
        if default_id.as_deref() != Some(id.as_str()) && is_choosable(&id) {
            listed.push(InputDevice {
                name: human_name(&id, &device.to_string()),
                id,
                is_default: false,
            });
        }
    }
    Ok(listed)
}

/// Notices waiting for a reader: 25 s of level readings.
const NOTICE_QUEUE: usize = 256;
/// Seconds of audio the ring between callback and reader holds.
const RING_SECS: usize = 2;
/// How often the reader looks for new samples when the ring was empty: one
/// frame's length, so a frame waits at most that long for its reader.
const POLL_EVERY: Duration = Duration::from_millis(20);
/// A running device that delivers nothing for this long is treated as gone.
pub const STALL_AFTER: Duration = Duration::from_secs(3);
/// The first callback may take a while after `play()` (1–2 s seen with ALSA).
const FIRST_DATA_WITHIN: Duration = Duration::from_secs(10);
/// Pause between attempts to get a microphone back: 250 ms, doubling to 4 s
/// (exact: one laptop, nothing to spread out).
fn rebuild_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(250), Duration::from_secs(4)).with_jitter(0.0)
}

/// What the stream's error callback saw, read by the capture side.
#[derive(Default)]
struct StreamHealth {
    lost: AtomicBool,
    /// 0: fine, else a [`Fault`] discriminant.
    fault: AtomicU8,
}

#[derive(Clone, Copy)]
#[repr(u8)]
enum Fault {
    Gone = 1,
    Invalidated = 2,
    HostGone = 3,
    Denied = 4,
}

impl StreamHealth {
    fn report(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::Relaxed);
        self.lost.store(true, Ordering::Release);
    }

    fn reason(&self) -> Option<&'static str> {
        if !self.lost.load(Ordering::Acquire) {
            return None;
        }
        Some(match self.fault.load(Ordering::Relaxed) {
            1 => "the device was disconnected",
            2 => "the device changed its configuration",
            3 => "the sound system stopped",
            4 => "access to the microphone was withdrawn",
            _ => "the device failed",
        })
    }

    fn denied(&self) -> bool {
        self.fault.load(Ordering::Relaxed) == Fault::Denied as u8
    }
}

/// One opened device and its stream.
struct Live {
    consumer: rtrb::Consumer<f32>,
    health: Arc<StreamHealth>,
    device: InputDevice,
    rate: u32,
    channels: u16,
    opened_at: Instant,
    stream: StreamThread,
}

/// The thread that owns a cpal stream. Dropping it stops the stream without
/// waiting; [`StreamThread::close`] also waits for the stream to be closed.
struct StreamThread {
    stop: std::sync::mpsc::Sender<()>,
    /// Disconnected once the thread has dropped its stream and ended.
    ended: std::sync::mpsc::Receiver<()>,
}

/// How long the end of a capture waits for the audio library to close its
/// stream.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

impl StreamThread {
    /// Stops the stream and waits (up to `within`) until it is closed. A
    /// process that exits while a thread is still inside the audio library,
    /// closing its connection to the sound server, can hang in the library's
    /// exit handlers; waiting here keeps the two apart.
    fn close(&self, within: Duration) {
        let _ = self.stop.send(());
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = self.ended.recv_timeout(within) {
            tracing::warn!("the microphone stream did not close within {within:?}");
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

/// A microphone that is being looked for again.
struct Rebuild {
    lost_device: InputDevice,
    since: Instant,
    backoff: Backoff,
    next_try: Instant,
}

/// Captures from one input device at its native configuration, and keeps
/// capturing when that device goes away and comes back.
pub struct MicSource {
    live: Option<Live>,
    rebuild: Option<Rebuild>,
    dsp: Dsp,
    scratch: Vec<f32>,
    frames: VecDeque<Frame>,
    notices: mpsc::Sender<SourceNotice>,
    notices_out: Option<mpsc::Receiver<SourceNotice>>,
    /// Shared by every stream this source opens, in device samples.
    overflowed: Arc<AtomicU64>,
    reported_overflow: u64,
    last_data: Option<Instant>,
    silence_reported: bool,
    /// The device first opened, and why it is not the one asked for, if not.
    pub device: InputDevice,
    /// Why the device asked for was not opened, in words for the person; `None`
    /// when it was, or when none was asked for.
    pub fallback_reason: Option<String>,
}

impl MicSource {
    /// Opens `wanted` (a device id), or the default device when it is absent
    /// or missing — saying so in `fallback_reason`.
    pub fn open(wanted: Option<&str>) -> Result<Self, AudioError> {
        let overflowed = Arc::new(AtomicU64::new(0));
        let (live, fallback_reason) = open_live(wanted, &overflowed)?;
        let (notices, notices_out) = mpsc::channel(NOTICE_QUEUE);
        Ok(Self {
            dsp: Dsp::new(live.rate, live.channels, 0)
                .map_err(|e| AudioError::Device(e.to_string()))?,
            scratch: Vec::with_capacity(ring_capacity(&live)),
            device: live.device.clone(),
            live: Some(live),
            rebuild: None,
            frames: VecDeque::new(),
            notices,
            notices_out: Some(notices_out),
            overflowed,
            reported_overflow: 0,
            last_data: None,
            silence_reported: false,
            fallback_reason,
        })
    }

    /// Device samples lost because the reader fell more than two seconds behind.
    pub fn overflowed_samples(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// The device audio currently comes from (`None` while none is available).
    pub fn current_device(&self) -> Option<&InputDevice> {
        self.live.as_ref().map(|live| &live.device)
    }

    fn note(&mut self, change: MicChange) {
        tracing::debug!(change = ?change, "microphone");
        send_notice(&self.notices, SourceNotice::Mic(change));
    }

    fn check_overflow(&mut self) {
        let overflowed = self.overflowed_samples();
        if overflowed > self.reported_overflow {
            let per_sec = self
                .live
                .as_ref()
                .map(|l| f64::from(l.rate) * f64::from(l.channels))
                .unwrap_or(f64::from(consult_protocol::SAMPLE_RATE));
            let secs = (overflowed - self.reported_overflow) as f64 / per_sec;
            self.reported_overflow = overflowed;
            self.note(MicChange::Overflow { secs });
        }
    }

    /// Why the live stream should be given up, if it should.
    fn failure(&self, live: &Live, now: Instant) -> Option<String> {
        if let Some(reason) = live.health.reason() {
            return Some(reason.to_owned());
        }
        let (since, limit) = match self.last_data {
            Some(at) => (at, STALL_AFTER),
            None => (live.opened_at, FIRST_DATA_WITHIN),
        };
        (now.duration_since(since) > limit).then(|| format!("no audio for {} s", limit.as_secs()))
    }

    fn give_up_live(&mut self, reason: String) {
        let Some(live) = self.live.take() else {
            return;
        };
        if live.health.denied() {
            self.note(MicChange::PermissionDenied {
                advice: permission_advice().into(),
            });
        }
        self.note(MicChange::Lost {
            device: live.device.name.clone(),
            reason,
        });
        let now = Instant::now();
        self.rebuild = Some(Rebuild {
            lost_device: live.device.clone(),
            since: self.last_data.unwrap_or(now),
            backoff: rebuild_backoff(),
            next_try: now,
        });
        self.last_data = None;
        // Dropping `live` stops its stream thread.
    }

    /// One attempt at getting a microphone back; sleeps until it is due.
    async fn try_rebuild(&mut self) {
        let Some(rebuild) = &self.rebuild else {
            return;
        };
        tokio::time::sleep_until(rebuild.next_try.into()).await;
        // Prefer the device that was lost (it may come back under its id),
        // then the one asked for, then the default.
        let lost_id = rebuild.lost_device.id.clone();
        let overflowed = Arc::clone(&self.overflowed);
        let opened = tokio::task::spawn_blocking(move || {
            open_live(Some(&lost_id), &overflowed).map(|(live, _)| live)
        })
        .await
        .unwrap_or_else(|e| Err(AudioError::Device(e.to_string())));
        let rebuild = self.rebuild.as_mut().expect("checked above");
        match opened {
            Ok(mut live) => {
                if live.device.id == rebuild.lost_device.id {
                    // Hosts may name one device differently when listing it.
                    live.device.name.clone_from(&rebuild.lost_device.name);
                }
                let restored = MicChange::Restored {
                    same_device: live.device.id == rebuild.lost_device.id,
                    device: live.device.clone(),
                    missing_secs: rebuild.since.elapsed().as_secs_f64(),
                };
                match Dsp::new(live.rate, live.channels, self.dsp.next_offset()) {
                    Ok(dsp) => {
                        self.dsp = dsp;
                        self.scratch.reserve(ring_capacity(&live));
                        self.live = Some(live);
                        self.rebuild = None;
                        self.note(restored);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "the returned microphone's rate is unusable");
                        schedule_next(rebuild);
                    }
                }
            }
            Err(err) => {
                if matches!(err, AudioError::PermissionDenied) && rebuild.backoff.attempt() == 0 {
                    send_notice(
                        &self.notices,
                        SourceNotice::Mic(MicChange::PermissionDenied {
                            advice: permission_advice().into(),
                        }),
                    );
                }
                tracing::debug!(error = %err, attempt = rebuild.backoff.attempt(), "no microphone yet");
                schedule_next(rebuild);
            }
        }
    }

    fn take_samples(&mut self) -> usize {
        let Some(live) = self.live.as_mut() else {
            return 0;
        };
        let available = live.consumer.slots();
        if available == 0 {
            return 0;
        }
        self.scratch.clear();
        if let Ok(chunk) = live.consumer.read_chunk(available) {
            let (first, second) = chunk.as_slices();
            self.scratch.extend_from_slice(first);
            self.scratch.extend_from_slice(second);
            chunk.commit_all();
        }
        let frames = &mut self.frames;
        let notices = &self.notices;
        let silence_reported = &mut self.silence_reported;
        self.dsp.push(
            SampleBlock::F32(&self.scratch),
            |f| frames.push_back(f),
            |level| {
                if level.silent_secs >= NO_SIGNAL_AFTER_SECS && !*silence_reported {
                    *silence_reported = true;
                    send_notice(
                        notices,
                        SourceNotice::Mic(MicChange::NoSignal {
                            secs: level.silent_secs,
                        }),
                    );
                } else if level.silent_secs == 0.0 && *silence_reported {
                    *silence_reported = false;
                    send_notice(notices, SourceNotice::Mic(MicChange::SignalBack));
                }
                send_notice(notices, SourceNotice::Level(level));
            },
        );
        available
    }
}

/// Never waits: a reader that keeps up sees everything; one that does not
/// misses readings (and, far less likely, changes), which the log still has.
fn send_notice(notices: &mpsc::Sender<SourceNotice>, notice: SourceNotice) {
    if let Err(mpsc::error::TrySendError::Full(SourceNotice::Mic(change))) =
        notices.try_send(notice)
    {
        tracing::warn!(change = ?change, "microphone change not delivered: the reader is behind");
    }
}

fn schedule_next(rebuild: &mut Rebuild) {
    rebuild.next_try = Instant::now() + rebuild.backoff.next_delay();
}

fn ring_capacity(live: &Live) -> usize {
    live.rate as usize * usize::from(live.channels) * RING_SECS
}

/// What to do when the operating system refuses the microphone.
pub fn permission_advice() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS does not let Consult Recorder use the microphone. Open System Settings → \
         Privacy & Security → Microphone, switch Consult Recorder on, then press Record again."
    } else if cfg!(target_os = "windows") {
        "Windows does not let Consult Recorder use the microphone. Open Settings → Privacy & \
         security → Microphone, allow desktop apps to use it, then press Record again."
    } else {
        "The system refused access to the microphone. Ask IT to allow this user to use audio \
         devices, then press Record again."
    }
}

/// Finds and opens a device: `wanted` if connected, else the default.
fn open_live(
    wanted: Option<&str>,
    overflowed: &Arc<AtomicU64>,
) -> Result<(Live, Option<String>), AudioError> {
    super::library_messages::quietly(|| find_and_open(wanted, overflowed))
}

fn find_and_open(
    wanted: Option<&str>,
    overflowed: &Arc<AtomicU64>,
) -> Result<(Live, Option<String>), AudioError> {
    let host = cpal::default_host();
    let mut fallback_reason = None;
    let chosen = match wanted {
        Some(id) if !is_choosable(id) => {
            fallback_reason = Some(format!(
                "the chosen input ({id}) is not a microphone (a sound plugin); using the default one"
            ));
            None
        }
        Some(id) => {
            let found = host
                .input_devices()
                .map_err(|e| AudioError::Device(e.to_string()))?
                .find(|d| d.id().ok().is_some_and(|d_id| d_id.to_string() == id));
            if found.is_none() {
                fallback_reason = Some(format!(
                    "the chosen microphone ({id}) is not connected; using the default one"
                ));
            }
            found
        }
        None => None,
    };
    let device = match chosen {
        Some(device) => device,
        None => host
            .default_input_device()
            .ok_or_else(|| AudioError::Device("no microphone was found".into()))?,
    };
    let config = device.default_input_config().map_err(|e| match e.kind() {
        ErrorKind::PermissionDenied => AudioError::PermissionDenied,
        _ => AudioError::Device(format!("{device}: {e}")),
    })?;
    let rate = config.sample_rate();
    let channels = config.channels();
    let id = device.id().map(|id| id.to_string()).unwrap_or_default();
    let info = InputDevice {
        name: human_name(&id, &device.to_string()),
        id,
        is_default: wanted.is_none() || fallback_reason.is_some(),
    };
    let capacity = rate as usize * usize::from(channels) * RING_SECS;
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let health = Arc::new(StreamHealth::default());
    let stream = spawn_stream(
        device,
        config.config(),
        config.sample_format(),
        producer,
        Callbacks {
            overflowed: Arc::clone(overflowed),
            health: Arc::clone(&health),
        },
    )?;
    Ok((
        Live {
            consumer,
            health,
            device: info,
            rate,
            channels,
            opened_at: Instant::now(),
            stream,
        },
        fallback_reason,
    ))
}

/// What the real-time callbacks share with the reader: atomics only.
#[derive(Clone)]
struct Callbacks {
    overflowed: Arc<AtomicU64>,
    health: Arc<StreamHealth>,
}

/// Builds and plays the stream on its own thread, reporting how that went.
fn spawn_stream(
    device: cpal::Device,
    config: cpal::StreamConfig,
    format: SampleFormat,
    producer: rtrb::Producer<f32>,
    callbacks: Callbacks,
) -> Result<StreamThread, AudioError> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready) = std::sync::mpsc::channel::<Result<(), AudioError>>();
    let (ended_tx, ended) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("microphone".into())
        .spawn(move || {
            // Dropped last, as the thread ends: tells `close` the stream is gone.
            let _ended = ended_tx;
            let built =
                build_stream(&device, &config, format, producer, callbacks).and_then(|stream| {
                    stream.play().map_err(stream_error)?;
                    Ok(stream)
                });
            match built {
                Ok(stream) => {
                    let _ = ready_tx.send(Ok(()));
                    let _ = stopped.recv();
                    drop(stream);
                }
                Err(reason) => {
                    let _ = ready_tx.send(Err(reason));
                }
            }
        })
        .map_err(|e| AudioError::Device(e.to_string()))?;
    match ready.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(StreamThread { stop, ended }),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(AudioError::Device(
            "the microphone did not start within 10 s".into(),
        )),
    }
}

fn stream_error(err: cpal::Error) -> AudioError {
    match err.kind() {
        ErrorKind::PermissionDenied => AudioError::PermissionDenied,
        _ => AudioError::Device(err.to_string()),
    }
}

/// Sorts a stream error into "rebuild" or "log and carry on".
fn on_stream_error(health: &StreamHealth, err: cpal::Error) {
    let fault = match err.kind() {
        ErrorKind::DeviceNotAvailable => Some(Fault::Gone),
        ErrorKind::StreamInvalidated => Some(Fault::Invalidated),
        ErrorKind::HostUnavailable => Some(Fault::HostGone),
        ErrorKind::PermissionDenied => Some(Fault::Denied),
        _ => None,
    };
    match fault {
        Some(fault) => {
            tracing::warn!(error = %err, "microphone stream ended");
            health.report(fault);
        }
        None => tracing::debug!(error = %err, "microphone stream error"),
    }
}

fn build_stream(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    format: SampleFormat,
    producer: rtrb::Producer<f32>,
    callbacks: Callbacks,
) -> Result<cpal::Stream, AudioError> {
    fn typed<T>(
        device: &cpal::Device,
        config: &cpal::StreamConfig,
        mut producer: rtrb::Producer<f32>,
        callbacks: Callbacks,
    ) -> Result<cpal::Stream, AudioError>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
        let Callbacks { overflowed, health } = callbacks;
        device
            .build_input_stream::<T, _, _>(
                *config,
                move |data: &[T], _| {
                    // Real-time path: arithmetic and a lock-free push only.
                    for &sample in data {
                        if producer.push(f32::from_sample(sample)).is_err() {
                            overflowed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                },
                move |err| on_stream_error(&health, err),
                None,
            )
            .map_err(stream_error)
    }
    match format {
        SampleFormat::I8 => typed::<i8>(device, config, producer, callbacks),
        SampleFormat::I16 => typed::<i16>(device, config, producer, callbacks),
        SampleFormat::I24 => typed::<cpal::I24>(device, config, producer, callbacks),
        SampleFormat::I32 => typed::<i32>(device, config, producer, callbacks),
        SampleFormat::I64 => typed::<i64>(device, config, producer, callbacks),
        SampleFormat::U8 => typed::<u8>(device, config, producer, callbacks),
        SampleFormat::U16 => typed::<u16>(device, config, producer, callbacks),
        SampleFormat::U32 => typed::<u32>(device, config, producer, callbacks),
        SampleFormat::U64 => typed::<u64>(device, config, producer, callbacks),
        SampleFormat::F32 => typed::<f32>(device, config, producer, callbacks),
        SampleFormat::F64 => typed::<f64>(device, config, producer, callbacks),
        other => Err(AudioError::Device(format!(
            "the microphone's sample format {other} is not supported"
        ))),
    }
}

/// The end of a capture: the stream is closed before the source is gone, so
/// a process that ends right after its recording never exits in the middle of
/// closing it. (A lost device, in contrast, is let go without waiting.)
impl Drop for MicSource {
    fn drop(&mut self) {
        if let Some(live) = self.live.take() {
            live.stream.close(CLOSE_WITHIN);
        }
    }
}

impl AudioSource for MicSource {
    /// A live source: new audio continues the session's spool.
    fn start_at(&mut self, offset: u64) {
        let (rate, channels) = match &self.live {
            Some(live) => (live.rate, live.channels),
            None => return,
        };
        if let Ok(dsp) = Dsp::new(rate, channels, offset) {
            self.dsp = dsp;
        }
    }

    async fn next_frame(&mut self) -> Result<Option<Frame>, AudioError> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Ok(Some(frame));
            }
            self.check_overflow();
            if self.live.is_none() {
                self.try_rebuild().await;
                continue;
            }
            if self.take_samples() > 0 {
                self.last_data = Some(Instant::now());
                continue;
            }
            let now = Instant::now();
            let failure = self.live.as_ref().and_then(|live| self.failure(live, now));
            match failure {
                Some(reason) => self.give_up_live(reason),
                None => tokio::time::sleep(POLL_EVERY).await,
            }
        }
    }

    fn take_notices(&mut self) -> Option<mpsc::Receiver<SourceNotice>> {
        self.notices_out.take()
    }
}
