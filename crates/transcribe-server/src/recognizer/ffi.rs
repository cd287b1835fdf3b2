//! Hand-written bindings for the parts of pocketsphinx 5prealpha we call.
//!
//! Written against Debian 12's `/usr/include/pocketsphinx/pocketsphinx.h` and
//! `ps_search.h`; the crates.io bindings target the older 0.8 signatures.
//! Only opaque pointers cross the boundary.

use std::ffi::{c_char, c_int};

#[repr(C)]
pub struct CmdLn {
    _private: [u8; 0],
}

#[repr(C)]
pub struct ArgDef {
    _private: [u8; 0],
}

#[repr(C)]
pub struct Decoder {
    _private: [u8; 0],
}

unsafe extern "C" {
    /// `arg_t const *ps_args(void)`
    pub fn ps_args() -> *const ArgDef;
    /// `cmd_ln_t *cmd_ln_parse_r(cmd_ln_t *inout, arg_t const *defn, int32 argc, char *argv[], int32 strict)`
    pub fn cmd_ln_parse_r(
        inout: *mut CmdLn,
        defn: *const ArgDef,
        argc: i32,
        argv: *const *const c_char,
        strict: i32,
    ) -> *mut CmdLn;
    /// `int cmd_ln_free_r(cmd_ln_t *cmdln)`
    pub fn cmd_ln_free_r(cmdln: *mut CmdLn) -> c_int;
    /// `ps_decoder_t *ps_init(cmd_ln_t *config)`
    pub fn ps_init(config: *mut CmdLn) -> *mut Decoder;
    /// `int ps_free(ps_decoder_t *ps)`
    pub fn ps_free(ps: *mut Decoder) -> c_int;
    /// `int ps_set_jsgf_string(ps_decoder_t *ps, const char *name, const char *jsgf_string)`
    pub fn ps_set_jsgf_string(ps: *mut Decoder, name: *const c_char, jsgf: *const c_char) -> c_int;
    /// `int ps_set_search(ps_decoder_t *ps, const char *name)`
    pub fn ps_set_search(ps: *mut Decoder, name: *const c_char) -> c_int;
    /// `int ps_start_utt(ps_decoder_t *ps)`
    pub fn ps_start_utt(ps: *mut Decoder) -> c_int;
    /// `int ps_process_raw(ps_decoder_t *ps, int16 const *data, size_t n_samples, int no_search, int full_utt)`
    pub fn ps_process_raw(
        ps: *mut Decoder,
        data: *const i16,
        n_samples: usize,
        no_search: c_int,
        full_utt: c_int,
    ) -> c_int;
    /// `int ps_end_utt(ps_decoder_t *ps)`
    pub fn ps_end_utt(ps: *mut Decoder) -> c_int;
    /// `char const *ps_get_hyp(ps_decoder_t *ps, int32 *out_best_score)`
    pub fn ps_get_hyp(ps: *mut Decoder, out_best_score: *mut i32) -> *const c_char;
    /// `uint8 ps_get_in_speech(ps_decoder_t *ps)`
    pub fn ps_get_in_speech(ps: *mut Decoder) -> u8;
}
