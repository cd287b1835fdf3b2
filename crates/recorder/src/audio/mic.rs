//! The microphone as an audio source, with cpal.
//!
//! The device's callback only converts samples to floats and copies them into
//! a lock-free single-producer ring: it never blocks, locks or allocates. A
//! full ring is counted, never silent. Resampling and framing happen on the
//! reading side ([`super::dsp`]). The cpal stream lives on a thread of its own,
//! since streams may not move between threads on every platform.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};

use super::dsp::{Dsp, SampleBlock};
use super::{AudioError, AudioSource, Frame};

/// An input device as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputDevice {
    /// Stable across runs where the platform allows: remember this one.
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// Every input device of the default host.
pub fn input_devices() -> Result<Vec<InputDevice>, AudioError> {
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
        listed.push(InputDevice {
            id: id.to_string(),
            name: device.to_string(),
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
        if default_id.as_deref() != Some(id.as_str()) {
            listed.push(InputDevice {
                id,
                name: device.to_string(),
                is_default: false,
            });
        }
    }
    Ok(listed)
}

/// Seconds of audio the ring between callback and reader holds.
const RING_SECS: usize = 2;

/// Captures from one input device at its native configuration.
pub struct MicSource {
    consumer: rtrb::Consumer<f32>,
    dsp: Dsp,
    rate: u32,
    channels: u16,
    scratch: Vec<f32>,
    frames: VecDeque<Frame>,
    overflowed: Arc<AtomicU64>,
    reported_overflow: u64,
    _stream: StreamThread,
    /// The device actually opened, and why it is not the one asked for, if not.
    pub device: InputDevice,
    pub fallback_reason: Option<String>,
}

struct StreamThread {
    stop: std::sync::mpsc::Sender<()>,
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

impl MicSource {
    /// Opens `wanted` (a device id), or the default device when it is absent
    /// or missing — saying so in `fallback_reason`.
    pub fn open(wanted: Option<&str>) -> Result<Self, AudioError> {
        let host = cpal::default_host();
        let mut fallback_reason = None;
        let chosen = match wanted {
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
        let config = device
            .default_input_config()
            .map_err(|e| AudioError::Device(format!("{device}: {e}")))?;
        let rate = config.sample_rate();
        let channels = config.channels();
        let format = config.sample_format();
        let info = InputDevice {
            id: device.id().map(|id| id.to_string()).unwrap_or_default(),
            name: device.to_string(),
            is_default: wanted.is_none() || fallback_reason.is_some(),
        };
        let capacity = rate as usize * usize::from(channels) * RING_SECS;
        let (producer, consumer) = rtrb::RingBuffer::new(capacity);
        let overflowed = Arc::new(AtomicU64::new(0));
        let stream = spawn_stream(
            device,
            config.config(),
            format,
            producer,
            Arc::clone(&overflowed),
        )?;
        Ok(Self {
            consumer,
            dsp: Dsp::new(rate, channels, 0).map_err(|e| AudioError::Device(e.to_string()))?,
            rate,
            channels,
            scratch: Vec::with_capacity(capacity),
            frames: VecDeque::new(),
            overflowed,
            reported_overflow: 0,
            _stream: stream,
            device: info,
            fallback_reason,
        })
    }

    /// Samples lost because the reader fell more than two seconds behind.
    pub fn overflowed_samples(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }
}

/// Builds and plays the stream on its own thread, reporting how that went.
fn spawn_stream(
    device: cpal::Device,
    config: cpal::StreamConfig,
    format: SampleFormat,
    producer: rtrb::Producer<f32>,
    overflowed: Arc<AtomicU64>,
) -> Result<StreamThread, AudioError> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("microphone".into())
        .spawn(move || {
            let built =
                build_stream(&device, &config, format, producer, overflowed).and_then(|stream| {
                    stream.play().map_err(|e| e.to_string())?;
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
        Ok(Ok(())) => Ok(StreamThread { stop }),
        Ok(Err(reason)) => Err(AudioError::Device(reason)),
        Err(_) => Err(AudioError::Device(
            "the microphone did not start within 10 s".into(),
        )),
    }
}

fn build_stream(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    format: SampleFormat,
    producer: rtrb::Producer<f32>,
    overflowed: Arc<AtomicU64>,
) -> Result<cpal::Stream, String> {
    fn typed<T>(
        device: &cpal::Device,
        config: &cpal::StreamConfig,
        mut producer: rtrb::Producer<f32>,
        overflowed: Arc<AtomicU64>,
    ) -> Result<cpal::Stream, String>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
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
                |err| tracing::error!(error = %err, "microphone stream error"),
                None,
            )
            .map_err(|e| e.to_string())
    }
    match format {
        SampleFormat::I8 => typed::<i8>(device, config, producer, overflowed),
        SampleFormat::I16 => typed::<i16>(device, config, producer, overflowed),
        SampleFormat::I24 => typed::<cpal::I24>(device, config, producer, overflowed),
        SampleFormat::I32 => typed::<i32>(device, config, producer, overflowed),
        SampleFormat::I64 => typed::<i64>(device, config, producer, overflowed),
        SampleFormat::U8 => typed::<u8>(device, config, producer, overflowed),
        SampleFormat::U16 => typed::<u16>(device, config, producer, overflowed),
        SampleFormat::U32 => typed::<u32>(device, config, producer, overflowed),
        SampleFormat::U64 => typed::<u64>(device, config, producer, overflowed),
        SampleFormat::F32 => typed::<f32>(device, config, producer, overflowed),
        SampleFormat::F64 => typed::<f64>(device, config, producer, overflowed),
        other => Err(format!(
            "the microphone's sample format {other} is not supported"
        )),
    }
}

impl AudioSource for MicSource {
    /// A live source: new audio continues the session's spool.
    fn start_at(&mut self, offset: u64) {
        if let Ok(dsp) = Dsp::new(self.rate, self.channels, offset) {
            self.dsp = dsp;
        }
    }

    async fn next_frame(&mut self) -> Result<Option<Frame>, AudioError> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Ok(Some(frame));
            }
            let overflowed = self.overflowed_samples();
            if overflowed > self.reported_overflow {
                tracing::warn!(
                    samples = overflowed - self.reported_overflow,
                    "microphone ring overflowed"
                );
                self.reported_overflow = overflowed;
            }
            let available = self.consumer.slots();
            if available == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            self.scratch.clear();
            if let Ok(chunk) = self.consumer.read_chunk(available) {
                let (first, second) = chunk.as_slices();
                self.scratch.extend_from_slice(first);
                self.scratch.extend_from_slice(second);
                chunk.commit_all();
            }
            let frames = &mut self.frames;
            self.dsp.push(
                SampleBlock::F32(&self.scratch),
                |f| frames.push_back(f),
                |_| {},
            );
        }
    }
}
