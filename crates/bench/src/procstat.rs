//! What the kernel says about a process: memory, threads, open descriptors, CPU time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(field: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn count_dir(path: &str) -> u64 {
    std::fs::read_dir(path).map_or(0, |d| d.count() as u64)
}

/// Threads of this process now.
pub fn threads() -> u64 {
    count_dir("/proc/self/task")
}

/// Open file descriptors of this process now.
pub fn fds() -> u64 {
    count_dir("/proc/self/fd")
}

/// CPU time of the calling thread so far, in ns (`/proc/thread-self/schedstat`: nanosecond
/// resolution, unlike the tick counts of `/proc/PID/stat`); 0 when unreadable.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of a process (`self` or a pid), from `/proc/PID/stat`.
pub fn cpu_time(pid: &str) -> Duration {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    let Some(after) = s.rsplit(')').next() else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat; here 11 and 12 after the command name.
    let per_sec = 100; // USER_HZ on Linux
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / per_sec)
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Samples threads and open descriptors on its own thread (which it counts out) and keeps the
/// peaks.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    peak_threads: Arc<AtomicU64>,
    peak_fds: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

/// Peaks seen by a [`Sampler`].
#[derive(Debug, Clone, Copy)]
pub struct Peaks {
    /// Threads, not counting the sampler's own.
    pub threads: u64,
    /// Open descriptors.
    pub fds: u64,
}

impl Sampler {
    /// Starts sampling every `every`.
    pub fn start(every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_threads = Arc::new(AtomicU64::new(0));
        let peak_fds = Arc::new(AtomicU64::new(0));
        let (s, t, f) = (stop.clone(), peak_threads.clone(), peak_fds.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                t.fetch_max(threads().saturating_sub(1), Ordering::Relaxed);
                f.fetch_max(fds(), Ordering::Relaxed);
                std::thread::sleep(every);
            }
        });
        Self {
            stop,
            peak_threads,
            peak_fds,
            handle: Some(handle),
        }
    }

    /// Stops and returns the peaks.
    pub fn finish(mut self) -> Peaks {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        Peaks {
            threads: self.peak_threads.load(Ordering::Relaxed),
            fds: self.peak_fds.load(Ordering::Relaxed),
        }
    }
}

/// The `q` quantile (0..=1) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
