//! Every sample format a device may deliver, as floats in [-1, 1], and the
//! downmix of all channels to one.

/// A block of interleaved samples in the device's own format.
#[derive(Debug, Clone, Copy)]
pub enum SampleBlock<'a> {
    /// Signed 8-bit integers.
    I8(&'a [i8]),
    /// Signed 16-bit integers.
    I16(&'a [i16]),
    /// 24-bit samples carried in 32-bit integers (low 24 bits significant).
    I24(&'a [i32]),
    /// Signed 32-bit integers, full range.
    I32(&'a [i32]),
    /// Signed 64-bit integers.
    I64(&'a [i64]),
    /// Unsigned 8-bit integers, silence at 128.
    U8(&'a [u8]),
    /// Unsigned 16-bit integers, silence at 32 768.
    U16(&'a [u16]),
    /// Unsigned 32-bit integers, silence at 2^31.
    U32(&'a [u32]),
    /// Unsigned 64-bit integers, silence at 2^63.
    U64(&'a [u64]),
    /// 32-bit floats, full scale at ±1.
    F32(&'a [f32]),
    /// 64-bit floats, full scale at ±1.
    F64(&'a [f64]),
}

macro_rules! downmix {
    ($samples:expr, $channels:expr, $out:expr, $to_float:expr) => {{
        let scale = 1.0 / $channels as f32;
        for frame in $samples.chunks_exact($channels) {
            let sum: f32 = frame.iter().map(|s| $to_float(*s)).sum();
            $out.push(sum * scale);
        }
    }};
}

impl SampleBlock<'_> {
    /// Averages all channels of each interleaved frame into `out` (not just
    /// the first channel: a headset may put the voice on either side).
    /// A trailing partial frame is ignored.
    pub fn downmix_into(&self, channels: usize, out: &mut Vec<f32>) {
        let channels = channels.max(1);
        match *self {
            SampleBlock::I8(s) => downmix!(s, channels, out, |v: i8| f32::from(v) / 128.0),
            SampleBlock::I16(s) => downmix!(s, channels, out, |v: i16| f32::from(v) / 32_768.0),
            SampleBlock::I24(s) => downmix!(s, channels, out, |v: i32| v as f32 / 8_388_608.0),
            SampleBlock::I32(s) => downmix!(s, channels, out, |v: i32| v as f32 / 2_147_483_648.0),
            SampleBlock::I64(s) => downmix!(s, channels, out, |v: i64| (v as f64
                / 9_223_372_036_854_775_808.0)
                as f32),
            SampleBlock::U8(s) => {
                downmix!(s, channels, out, |v: u8| (f32::from(v) - 128.0) / 128.0)
            }
            SampleBlock::U16(s) => downmix!(s, channels, out, |v: u16| (f32::from(v) - 32_768.0)
                / 32_768.0),
            SampleBlock::U32(s) => downmix!(s, channels, out, |v: u32| ((f64::from(v)
                - 2_147_483_648.0)
                / 2_147_483_648.0)
                as f32),
            SampleBlock::U64(s) => downmix!(s, channels, out, |v: u64| ((v as f64
                - 9_223_372_036_854_775_808.0)
                / 9_223_372_036_854_775_808.0)
                as f32),
            SampleBlock::F32(s) => downmix!(s, channels, out, |v: f32| v),
            SampleBlock::F64(s) => downmix!(s, channels, out, |v: f64| v as f32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_maps_full_scale_to_one_and_silence_to_zero() {
        let cases: Vec<(SampleBlock, f32, f32)> = vec![
            (SampleBlock::I8(&[i8::MIN, 0]), -1.0, 0.0),
            (SampleBlock::I16(&[i16::MIN, 0]), -1.0, 0.0),
            (SampleBlock::I24(&[-8_388_608, 0]), -1.0, 0.0),
            (SampleBlock::I32(&[i32::MIN, 0]), -1.0, 0.0),
            (SampleBlock::I64(&[i64::MIN, 0]), -1.0, 0.0),
            (SampleBlock::U8(&[0, 128]), -1.0, 0.0),
            (SampleBlock::U16(&[0, 32_768]), -1.0, 0.0),
            (SampleBlock::U32(&[0, 2_147_483_648]), -1.0, 0.0),
            (SampleBlock::U64(&[0, 1 << 63]), -1.0, 0.0),
            (SampleBlock::F32(&[-1.0, 0.0]), -1.0, 0.0),
            (SampleBlock::F64(&[-1.0, 0.0]), -1.0, 0.0),
        ];
        for (block, low, zero) in cases {
            let mut out = Vec::new();
            block.downmix_into(1, &mut out);
            assert_eq!(out.len(), 2, "{block:?}");
            assert!((out[0] - low).abs() < 1e-6, "{block:?} → {}", out[0]);
            assert!((out[1] - zero).abs() < 1e-6, "{block:?} → {}", out[1]);
        }
    }

    #[test]
    fn downmix_averages_every_channel() {
        // Voice only on the right channel of a stereo headset still comes through.
        let stereo: Vec<i16> = vec![0, 16_384, 0, -16_384];
        let mut out = Vec::new();
        SampleBlock::I16(&stereo).downmix_into(2, &mut out);
        assert_eq!(out, vec![0.25, -0.25]);
        // Four channels, a trailing partial frame ignored.
        let mut out = Vec::new();
        SampleBlock::F32(&[1.0, 0.0, 0.0, 1.0, 0.5]).downmix_into(4, &mut out);
        assert_eq!(out, vec![0.5]);
    }
}
