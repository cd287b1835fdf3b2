//! The client's per-audio costs, each measured on one second of audio, so
//! criterion's throughput ("elem/s") reads directly as multiples of real time:
//! - DSP: 48 kHz stereo f32 device samples → 16 kHz mono PCM16 frames;
//! - spool: one second of 20 ms records appended with the recorder's fsync
//!   policy (a `sync_data` every 250 ms);
//! - frames: encoding and decoding the wire's 20 ms audio frames.

use std::hint::black_box;

use consult_recorder::audio::{Dsp, SampleBlock};
use consult_recorder::crypto::DataKey;
use consult_recorder::protocol::AudioFrame;
use consult_recorder::spool::SpoolWriter;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const DEVICE_RATE: usize = 48_000;
/// A typical device callback: 10 ms.
const BLOCK_FRAMES: usize = 480;
const FRAME_BYTES: usize = 640;
const FRAMES_PER_SECOND: usize = 50;
/// The recorder syncs the spool every 250 ms of wall time: 4 times a second.
const SYNCS_PER_SECOND: usize = 4;

/// One second of 48 kHz stereo noise, deterministic.
fn device_second() -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..DEVICE_RATE * 2)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 0.5 - 0.25
        })
        .collect()
}

fn dsp(c: &mut Criterion) {
    let second = device_second();
    let mut group = c.benchmark_group("dsp");
    group.throughput(Throughput::Elements(1));
    group.bench_function("48k_stereo_f32_to_16k_mono_pcm16_per_audio_second", |b| {
        let mut dsp = Dsp::new(DEVICE_RATE as u32, 2, 0).expect("48 kHz is supported");
        b.iter(|| {
            let mut frames = 0usize;
            for block in second.chunks(BLOCK_FRAMES * 2) {
                dsp.push(
                    SampleBlock::F32(black_box(block)),
                    |frame| frames += frame.pcm.len(),
                    |level| {
                        black_box(level);
                    },
                );
            }
            frames
        });
    });
    group.finish();
}

fn spool(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pcm = vec![0x55u8; FRAME_BYTES];
    let mut group = c.benchmark_group("spool");
    group.throughput(Throughput::Elements(1));
    group.bench_function("append_one_audio_second_with_fsync_every_250ms", |b| {
        let (mut writer, _) =
            SpoolWriter::open(&dir.path().join("bench.spool"), &DataKey::generate())
                .expect("spool opens");
        let mut offset = writer.end();
        b.iter(|| {
            for i in 0..FRAMES_PER_SECOND {
                writer.append(offset, &pcm).expect("append");
                offset += (FRAME_BYTES / 2) as u64;
                if (i + 1) % (FRAMES_PER_SECOND / SYNCS_PER_SECOND) == 0 {
                    writer.sync().expect("sync");
                }
            }
        });
    });
    group.finish();
}

fn frames(c: &mut Criterion) {
    let pcm = vec![0x33u8; FRAME_BYTES];
    let mut encoded = Vec::with_capacity(FRAME_BYTES + 16);
    AudioFrame {
        offset: 123_456,
        pcm: &pcm,
    }
    .encode_into(&mut encoded);
    let mut group = c.benchmark_group("frames");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_one_audio_second", |b| {
        let mut out = Vec::with_capacity(FRAME_BYTES + 16);
        b.iter(|| {
            for i in 0..FRAMES_PER_SECOND {
                out.clear();
                AudioFrame {
                    offset: i as u64 * 320,
                    pcm: black_box(&pcm),
                }
                .encode_into(&mut out);
            }
            out.len()
        });
    });
    group.bench_function("decode_one_audio_second", |b| {
        b.iter(|| {
            let mut samples = 0;
            for _ in 0..FRAMES_PER_SECOND {
                samples += AudioFrame::decode(black_box(&encoded))
                    .expect("a valid frame")
                    .samples();
            }
            samples
        });
    });
    group.finish();
}

criterion_group!(benches, dsp, spool, frames);
criterion_main!(benches);
