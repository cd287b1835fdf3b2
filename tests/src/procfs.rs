//! What the kernel counts for every process, read from `/proc`: CPU time,
//! resident memory, names and parents — for benchmarks that must measure a
//! program from the outside, as the laptop's task manager would.

use std::time::Duration;

/// CPU time (user + system) and resident set size in bytes.
#[allow(unsafe_code)] // one libc call (the clock tick), in benchmark support only
pub fn sample(pid: u32) -> Option<(Duration, u64)> {
    let fields = stat_fields(pid)?;
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some((
        Duration::from_secs_f64(ticks as f64 / per_sec as f64),
        rss(pid)?,
    ))
}

/// Context switches of all the process's threads so far: how often it went
/// to sleep and was woken (or was preempted). On a laptop every wake-up costs
/// battery whatever it then does, and unlike CPU time on a shared virtual
/// machine the count does not vary from run to run.
pub fn context_switches(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // a thread that ended meanwhile
        };
        total += status
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches:")
                    || l.starts_with("nonvoluntary_ctxt_switches:")
            })
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(total)
}

/// Resident set size in bytes.
pub fn rss(pid: u32) -> Option<u64> {
    kilobytes(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Proportional set size in bytes: resident memory with each shared page
/// divided among the processes sharing it, so a sum over processes is honest.
pub fn pss(pid: u32) -> Option<u64> {
    kilobytes(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

/// The `key: N kB` line of a /proc file, in bytes.
fn kilobytes(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let kb: u64 = text
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The program's file name (e.g. `WebKitWebProcess`), or its short name
/// (`comm`, cut at 15 characters) where the executable cannot be read.
pub fn name(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| Some(exe.file_name()?.to_string_lossy().into_owned()))
        .or_else(|| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .ok()
                .map(|n| n.trim_end().to_owned())
        })
}

/// `pid` and every process it started, directly or not.
pub fn with_descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = all_pids().filter_map(|p| Some((p, parent(p)?))).collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let of = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == of).map(|(p, _)| *p));
        i += 1;
    }
    found
}

/// Every process now running.
pub fn all_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

fn parent(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The fields of `/proc/PID/stat` after the command name (which may hold
/// spaces and parentheses): state, ppid, …
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}
