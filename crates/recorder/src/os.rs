//! The recorder's only calls into the C library, in one module so that the
//! workspace can refuse unsafe code everywhere else.

use std::path::Path;

/// Bytes free for this user on the file system holding `dir` (or its
/// nearest existing ancestor); `None` when the system cannot say.
#[cfg(unix)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let existing = dir.ancestors().find(|d| d.exists())?;
    let path = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stats` is written by the call.
    let status = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
    if status != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stats`.
    let stats = unsafe { stats.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field widths differ between platforms
    Some(stats.f_bavail as u64 * stats.f_frsize as u64)
}

/// Not asked on this system.
#[cfg(not(unix))]
pub fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// Sets (`true`) or clears this thread's "system required" execution state,
/// which keeps Windows from sleeping while it is set; `false` when refused.
#[cfg(windows)]
pub fn keep_system_awake(on: bool) -> bool {
    use windows_sys::Win32::System::Power::{
        ES_CONTINUOUS, ES_SYSTEM_REQUIRED, SetThreadExecutionState,
    };
    let flags = if on {
        ES_CONTINUOUS | ES_SYSTEM_REQUIRED
    } else {
        ES_CONTINUOUS
    };
    // SAFETY: the call takes flags by value and touches no memory of ours.
    unsafe { SetThreadExecutionState(flags) != 0 }
}

/// Time this computer has spent suspended since it booted: the boot-time
/// clock counts a suspend, the monotonic clock does not, and neither follows
/// changes to the wall clock.
#[cfg(target_os = "linux")]
pub fn suspended_since_boot() -> Option<std::time::Duration> {
    let read = |clock: libc::clockid_t| {
        let mut now = std::mem::MaybeUninit::<libc::timespec>::uninit();
        // SAFETY: `now` is written by the call when it returns 0.
        let status = unsafe { libc::clock_gettime(clock, now.as_mut_ptr()) };
        // SAFETY: clock_gettime returned 0, so it filled `now`.
        (status == 0).then(|| unsafe { now.assume_init() })
    };
    let to_duration = |t: libc::timespec| -> Option<std::time::Duration> {
        Some(std::time::Duration::new(
            u64::try_from(t.tv_sec).ok()?,
            u32::try_from(t.tv_nsec).ok()?,
        ))
    };
    let boot = to_duration(read(libc::CLOCK_BOOTTIME)?)?;
    let monotonic = to_duration(read(libc::CLOCK_MONOTONIC)?)?;
    Some(boot.saturating_sub(monotonic))
}
