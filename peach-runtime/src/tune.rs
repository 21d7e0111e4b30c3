//! Run-time autotuning: a JIT kernel's generation-time parameters chosen by measuring each
//! candidate on the caller's representative input, and the choice kept on disk, per processor,
//! kernel and parameter space, so that later runs load it without measuring.
//!
//! Tuning happens only when asked for ([`Tune::run`]) and within a time budget. `PEACH_TUNE=off`
//! takes the first candidate that passes the check, measuring nothing and leaving the cache
//! alone; `PEACH_TUNE=refresh` measures again and rewrites the cache.

use std::fmt::Debug;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A tuning job: a kernel's name and the parameters to try (see the module's documentation).
///
/// ```no_run
/// use peach_runtime::tune::Tune;
/// # fn build(unroll: &usize) -> Result<fn(&[f64]) -> f64, String> { Ok(|x| x.iter().sum()) }
/// let data = vec![1.0f64; 4096];
/// let tuned = Tune::new("vector_sum", [1usize, 2, 4, 8])
///     .run(build, |k| { std::hint::black_box(k(&data)); }, |k| k(&data) == 4096.0)
///     .expect("a candidate passes the check");
/// println!("unroll {}", tuned.param);
/// ```
#[derive(Clone, Debug)]
pub struct Tune<P> {
    name: String,
    space: Vec<P>,
    trials: u32,
    budget: Duration,
    dir: Option<PathBuf>,
}

/// The outcome of [`Tune::run`]: the parameter chosen, its kernel, and how it was chosen.
#[derive(Debug)]
pub struct Tuned<P, K> {
    /// The parameter chosen.
    pub param: P,
    /// Its index in the parameter space.
    pub index: usize,
    /// Its kernel, built.
    pub kernel: K,
    /// How it was chosen.
    pub how: How,
    /// Per candidate tried, its fastest trial (`None`: it failed to build or the check).
    pub timings: Vec<(usize, Option<Duration>)>,
}

/// How [`Tune::run`] chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Measured now (and the choice written to the cache).
    Measured,
    /// Read from the cache: nothing was measured.
    Cached,
    /// `PEACH_TUNE=off`: the first candidate that passes the check.
    Off,
}

/// Why tuning found nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneError(pub String);

impl std::fmt::Display for TuneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TuneError {}

impl<P: Clone + Debug> Tune<P> {
    /// Tuning of kernel `name` over `space` (best guess first: with `PEACH_TUNE=off`, or should
    /// the budget run out, the earlier candidates are the ones taken): 5 trials per candidate,
    /// a budget of 2 seconds, the platform's cache directory.
    pub fn new(name: &str, space: impl IntoIterator<Item = P>) -> Tune<P> {
        Tune {
            name: name.to_string(),
            space: space.into_iter().collect(),
            trials: 5,
            budget: Duration::from_secs(2),
            dir: None,
        }
    }

    /// Trials per candidate (at least 1); the fastest counts.
    pub fn trials(mut self, trials: u32) -> Self {
        self.trials = trials.max(1);
        self
    }

    /// How long measuring may take: candidates not reached by then are not tried (each one
    /// reached gets all its trials).
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The directory the choice is kept in, instead of the platform's (`$XDG_CACHE_HOME/peach`
    /// or `~/.cache/peach` on Linux, `~/Library/Caches/peach` on macOS, `%LOCALAPPDATA%\peach`
    /// on Windows).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The cache file of this job on this processor: its name holds the kernel's, and a hash of
    /// the processor, the kernel and the parameter space, so that another processor or another
    /// space reads another file.
    pub fn cache_file(&self) -> Option<PathBuf> {
        let dir = self.dir.clone().or_else(platform_cache_dir)?;
        let safe: String = self.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        Some(dir.join(format!("tune-{safe}-{:016x}.txt", fnv(&self.key()))))
    }

    /// What the choice depends on: the processor, the kernel, the parameter space.
    fn key(&self) -> String {
        let cpu = crate::dispatch::core_id().map_or("unidentified".to_string(), |c| c.to_string());
        let uarch = crate::dispatch::microarch().unwrap_or("unknown");
        format!("cpu {cpu} ({uarch})\nkernel {}\nspace {:?}\n", self.name, self.space)
    }

    /// Chooses a parameter: from the cache if it holds this job's choice (and the candidate
    /// still builds and passes `check`); else builds each candidate with `build`, drops those
    /// that fail to build or fail `check`, times `run` on the others (the fastest of the
    /// trials), takes the fastest and writes it to the cache. An unreadable, corrupt or
    /// foreign cache file is reported on stderr and replaced.
    pub fn run<K, E: std::fmt::Display>(
        &self,
        mut build: impl FnMut(&P) -> Result<K, E>,
        mut run: impl FnMut(&K),
        mut check: impl FnMut(&K) -> bool,
    ) -> Result<Tuned<P, K>, TuneError> {
        let mode = std::env::var("PEACH_TUNE").unwrap_or_default();
        let mut try_one = |i: usize| build(&self.space[i]).ok().filter(|k| check(k));
        if mode == "off" {
            for i in 0..self.space.len() {
                if let Some(kernel) = try_one(i) {
                    let param = self.space[i].clone();
                    return Ok(Tuned { param, index: i, kernel, how: How::Off, timings: Vec::new() });
                }
            }
            return Err(self.nothing("no candidate builds and passes the check"));
        }
        let file = self.cache_file();
        if mode != "refresh"
            && let Some(i) = file.as_ref().and_then(|f| self.read(f))
            && let Some(kernel) = try_one(i)
        {
            let param = self.space[i].clone();
            return Ok(Tuned { param, index: i, kernel, how: How::Cached, timings: Vec::new() });
        }
        let start = Instant::now();
        let mut best: Option<(Duration, usize, K)> = None;
        let mut timings = Vec::new();
        for i in 0..self.space.len() {
            if start.elapsed() > self.budget && best.is_some() {
                break;
            }
            let Some(kernel) = try_one(i) else {
                timings.push((i, None));
                continue;
            };
            let fastest = (0..self.trials)
                .map(|_| {
                    let t = Instant::now();
                    run(&kernel);
                    t.elapsed()
                })
                .min()
                .unwrap_or(Duration::MAX);
            timings.push((i, Some(fastest)));
            if best.as_ref().is_none_or(|b| fastest < b.0) {
                best = Some((fastest, i, kernel));
            }
        }
        let Some((_, index, kernel)) = best else {
            return Err(self.nothing("no candidate builds and passes the check"));
        };
        if let Some(f) = file {
            self.write(&f, index);
        }
        Ok(Tuned { param: self.space[index].clone(), index, kernel, how: How::Measured, timings })
    }

    fn nothing(&self, why: &str) -> TuneError {
        TuneError(format!("tuning `{}`: {why} (of {} candidates)", self.name, self.space.len()))
    }

    /// The index the cache file holds for this job; `None` (said on stderr unless the file
    /// does not exist) where it is unreadable, corrupt or another job's.
    fn read(&self, file: &PathBuf) -> Option<usize> {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                eprintln!("peach: tuning `{}`: cannot read {}: {e}; measuring again", self.name, file.display());
                return None;
            }
        };
        let choice = text.strip_prefix(HEADER).and_then(|rest| rest.strip_prefix(&self.key())).and_then(|rest| {
            let (index, param) = rest.strip_prefix("choice ")?.trim_end().split_once(' ')?;
            let i: usize = index.parse().ok()?;
            (format!("{:?}", self.space.get(i)?) == param).then_some(i)
        });
        if choice.is_none() {
            eprintln!("peach: tuning `{}`: {} is corrupt or another job's; measuring again", self.name, file.display());
        }
        choice
    }

    /// Writes the choice (failures are reported on stderr: the choice stands all the same).
    fn write(&self, file: &PathBuf, index: usize) {
        let text = format!("{HEADER}{}choice {index} {:?}\n", self.key(), self.space[index]);
        let written = file.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
            // Written aside, then renamed: a reader sees the old file or the new one, whole.
            let aside = file.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&aside, text)?;
            std::fs::rename(&aside, file)
        });
        if let Err(e) = written {
            eprintln!("peach: tuning `{}`: cannot write {}: {e}", self.name, file.display());
        }
    }
}

/// The first line of a cache file.
const HEADER: &str = "peach tuning 1\n";

/// The platform's cache directory for peach.
fn platform_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")?
    } else if cfg!(target_os = "macos") {
        var("HOME")?.join("Library").join("Caches")
    } else {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))?
    };
    Some(base.join("peach"))
}

/// FNV-1a, 64 bits: a file name that stays the same from one build to the next.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}
