//! The console progress bar of running stages, like spark-submit's
//! `[Stage 1:=====>      (3 + 2) / 10]`. Drawn only on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Progress of one stage.
pub(crate) struct StageProgress {
    bar: Option<ProgressBar>,
}

impl StageProgress {
    pub(crate) fn new(enabled: bool, stage_id: usize, tasks: usize) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(tasks as u64),
                ProgressDrawTarget::stderr_with_hz(5),
            );
            let style = ProgressStyle::with_template(
                "[Stage {prefix}:{bar:40.=>-} ({pos} + {msg}) / {len}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(stage_id.to_string());
            bar.set_message("0");
            bar
        });
        StageProgress { bar }
    }

    pub(crate) fn update(&self, done: usize, running: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(running.to_string());
        }
    }
}

impl Drop for StageProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
