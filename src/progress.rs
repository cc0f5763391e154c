//! The progress bar of `rehabsim run` on stderr: replications done, person-months per
//! second and time left. It appears only once a run has taken a second (short runs stay
//! silent), and never when stderr is not a terminal or with `--quiet`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const DELAY: Duration = Duration::from_secs(1);

pub struct Progress {
    enabled: bool,
    start: Instant,
    total: usize,
    /// Person-months simulated per replication (all arms; entries and exits make it an
    /// estimate, hence the "≈" on screen).
    person_months_per_rep: f64,
    done: AtomicUsize,
    bar: OnceLock<ProgressBar>,
}

impl Progress {
    pub fn new(enabled: bool, total: usize, person_months_per_rep: f64) -> Progress {
        Progress {
            enabled,
            start: Instant::now(),
            total,
            person_months_per_rep,
            done: AtomicUsize::new(0),
            bar: OnceLock::new(),
        }
    }

    /// Report `done` replications finished (from any worker thread).
    pub fn update(&self, done: usize) {
        if !self.enabled {
            return;
        }
        // Workers report out of order; the bar never goes back.
        let done = self.done.fetch_max(done, Ordering::Relaxed).max(done);
        let elapsed = self.start.elapsed();
        if elapsed < DELAY {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let style = ProgressStyle::with_template(
                "{pos}/{len} replications {wide_bar:.cyan/blue} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
            ProgressBar::new(self.total as u64).with_style(style)
        });
        bar.set_message(message(
            done,
            self.total,
            elapsed.as_secs_f64(),
            self.person_months_per_rep,
        ));
        bar.set_position(done as u64);
    }

    /// Remove the bar (the run's summary line follows on stderr).
    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// `≈ 1.2e6 person-months/s · 14 s left`.
fn message(done: usize, total: usize, secs: f64, pm_per_rep: f64) -> String {
    let rate = done as f64 * pm_per_rep / secs.max(1e-9);
    let left = if done == 0 {
        "time left unknown".to_string()
    } else {
        let s = (total.saturating_sub(done)) as f64 * secs / done as f64;
        if s >= 90.0 {
            format!("{:.0} min left", s / 60.0)
        } else {
            format!("{s:.0} s left")
        }
    };
    format!("≈ {rate:.1e} person-months/s · {left}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shows_rate_and_time_left() {
        assert_eq!(
            message(10, 40, 2.0, 24_000.0),
            "≈ 1.2e5 person-months/s · 6 s left"
        );
        assert_eq!(
            message(1, 100, 60.0, 1.0),
            "≈ 1.7e-2 person-months/s · 99 min left"
        );
        assert_eq!(
            message(0, 5, 1.5, 10.0),
            "≈ 0.0e0 person-months/s · time left unknown"
        );
    }

    #[test]
    fn disabled_progress_draws_nothing() {
        let p = Progress::new(false, 3, 1.0);
        p.update(2);
        assert!(p.bar.get().is_none());
        p.finish();
    }
}
